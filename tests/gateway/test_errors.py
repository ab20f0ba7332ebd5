"""Gateway errors in OpenAI's shape, with the statuses the OpenAI SDK turns into its exceptions.
A refused request reaches no provider and records no metric."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from canary.models import RequestMetric
from tests.fakes.behaviours import HttpError, MidStreamError
from tests.gateway.conftest import LiveServer, metrics_since

pytestmark = pytest.mark.usefixtures("gateway_registry")

MESSAGES = [{"role": "user", "content": "Classify: the export button does nothing."}]


def nothing_happened(registry: dict[str, Any]) -> bool:
    asked = [r for name in ("ollama", "anthropic", "llamacpp") for r in
             registry[name].chat_requests()]
    return not asked and not RequestMetric.objects.exists()


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


@pytest.fixture
def post(gateway_server: LiveServer, gateway_key: str) -> Any:
    def send(content: bytes | None = None, key: str | None = gateway_key,
             **kwargs: Any) -> httpx.Response:
        headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.post(f"{gateway_server.url}/v1/chat/completions", content=content,
                          headers=headers, timeout=30, **kwargs)
    return send


@pytest.mark.parametrize("api_key, code", [("lc_abcdefgh_wrong", "invalid_api_key"),
                                           ("sk-some-openai-key", "invalid_api_key")])
def test_a_bad_key_is_401(gateway_server: LiveServer, gateway_registry: dict[str, Any],
                          api_key: str, code: str) -> None:
    client = OpenAI(base_url=f"{gateway_server.url}/v1", api_key=api_key, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as excinfo:
        client.chat.completions.create(model="haiku", messages=MESSAGES)
    assert excinfo.value.status_code == 401 and excinfo.value.code == code
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    assert nothing_happened(gateway_registry)


def test_no_key_and_a_revoked_key_are_401(post: Any, gateway_registry: dict[str, Any]) -> None:
    from registry.models import ApiKey

    missing = post(b"{}", key=None)
    assert (missing.status_code, error_of(missing)["code"]) == (401, "missing_api_key")
    assert missing.headers["www-authenticate"] == "Bearer"
    ApiKey.objects.all().revoke()
    revoked = post(b'{"model": "haiku", "messages": [{"role": "user", "content": "hi"}]}')
    assert (revoked.status_code, error_of(revoked)["code"]) == (401, "invalid_api_key")
    assert nothing_happened(gateway_registry)


@pytest.mark.parametrize("body, status, param, code", [
    (b"{not json", 400, None, "invalid_json"),
    (b"[1, 2]", 400, None, "invalid_json"),
    (b'{"messages": []}', 400, "model", "missing_required_parameter"),
    (b'{"model": "haiku", "messages": []}', 400, "messages", "missing_required_parameter"),
    (b'{"model": "haiku", "messages": [{"role": "tool", "content": "x"}]}', 400,
     "messages[0].role", "invalid_value"),
    (b'{"model": "haiku", "messages": [{"role": "user", "content": "x"}], "tools": [{}]}', 400,
     "tools", "unsupported_parameter"),
    (b'{"model": "haiku", "messages": [{"role": "user", "content": "x"}], "n": 3}', 400,
     "n", "unsupported_parameter"),
    (b'{"model": "haiku", "messages": [{"role": "user", "content": "x"}], "frobnicate": 1}',
     400, "frobnicate", "unknown_parameter"),
    (b'{"model": "haiku", "messages": [{"role": "user", "content": "x"}], "temperature": 3}',
     400, "temperature", "invalid_value"),
    (b'{"model": "haiku", "messages": [{"role": "user", "content": "x"}], '
     b'"response_format": {"type": "xml"}}', 400, "response_format.type", "invalid_value"),
    (b'{"model": "haiku", "messages": [{"role": "system", "content": "x"}]}', 400, None,
     "invalid_value"),
    (b'{"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}', 404, "model",
     "model_not_found"),
])
def test_bad_requests_are_refused_and_nothing_happens(
    post: Any, gateway_registry: dict[str, Any], body: bytes, status: int, param: str | None,
    code: str,
) -> None:
    response = post(body)
    error = error_of(response)
    assert (response.status_code, error["param"], error["code"]) == (status, param, code), error
    assert error["type"] == "invalid_request_error"
    assert nothing_happened(gateway_registry)


def test_an_unknown_model_through_the_sdk_is_not_found(openai_client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as excinfo:
        openai_client.chat.completions.create(model="gpt-9", messages=MESSAGES)
    assert excinfo.value.code == "model_not_found"
    assert "`gpt-9` does not exist" in excinfo.value.message


def test_a_body_over_the_limit_is_413(post: Any, gateway_registry: dict[str, Any]) -> None:
    huge = b'{"model": "haiku", "messages": [{"role": "user", "content": "' + b"x" * (
        1_100_000) + b'"}]}'
    response = post(huge)
    assert (response.status_code, error_of(response)["code"]) == (413, "request_too_large")
    assert nothing_happened(gateway_registry)


def test_an_upstream_rate_limit_is_429_with_retry_after(
    openai_client: OpenAI, gateway_registry: dict[str, Any]
) -> None:
    gateway_registry["anthropic"].enqueue(HttpError(429, "slow down", retry_after=7))
    with pytest.raises(openai.RateLimitError) as excinfo:
        openai_client.chat.completions.create(model="sonnet", messages=MESSAGES)
    assert excinfo.value.status_code == 429
    assert excinfo.value.response.headers["retry-after"] == "7"
    assert "anthropic/claude-sonnet-4-20250514" in excinfo.value.message


def test_no_provider_reachable_is_503_naming_what_was_tried(
    openai_client: OpenAI, gateway_registry: dict[str, Any]
) -> None:
    gateway_registry["ollama"].stop()
    gateway_registry["anthropic"].enqueue(HttpError(503, "overloaded"))
    with pytest.raises(openai.InternalServerError) as excinfo:
        openai_client.chat.completions.create(model="haiku", messages=MESSAGES)
    assert excinfo.value.status_code == 503
    assert excinfo.value.code == "no_provider_available"
    assert ("tried ollama/qwen3-coder:30b, anthropic/claude-haiku-3-5-20241022"
            in excinfo.value.message)
    rows = metrics_since(gateway_registry["started"], 2)
    assert [(r.routed_to, r.success) for r in rows] == [("local", False), ("fallback", False)]


def test_a_failure_after_the_first_delta_is_an_error_event(
    openai_client: OpenAI, gateway_registry: dict[str, Any]
) -> None:
    gateway_registry["ollama"].enqueue(MidStreamError(chunks=["partial "]))
    received = []
    with pytest.raises(openai.APIError) as excinfo:  # noqa: PT012 - the error ends the loop
        for chunk in openai_client.chat.completions.create(model="haiku", messages=MESSAGES,
                                                           stream=True):
            received.append(chunk)
    assert "".join(c.choices[0].delta.content or "" for c in received) == "partial "
    assert "no fallback was attempted" in str(excinfo.value)
    assert gateway_registry["anthropic"].chat_requests() == []


def test_wrong_method_and_unknown_endpoint(gateway_server: LiveServer, gateway_key: str) -> None:
    auth = {"Authorization": f"Bearer {gateway_key}"}
    wrong = httpx.get(f"{gateway_server.url}/v1/chat/completions", headers=auth)
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")
    unknown = httpx.post(f"{gateway_server.url}/v1/embeddings", headers=auth, json={})
    assert (unknown.status_code, error_of(unknown)["code"]) == (404, "unknown_url")


def test_no_secret_in_responses_or_the_server_log(
    openai_client: OpenAI, gateway_server: LiveServer, gateway_registry: dict[str, Any]
) -> None:
    from tests.gateway.conftest import ANTHROPIC_KEY

    gateway_registry["anthropic"].enqueue(
        HttpError(401, f"invalid x-api-key {ANTHROPIC_KEY}"))
    with pytest.raises(openai.APIStatusError) as excinfo:
        openai_client.chat.completions.create(model="sonnet", messages=MESSAGES)
    assert excinfo.value.status_code == 502
    assert ANTHROPIC_KEY not in excinfo.value.response.text
    assert ANTHROPIC_KEY not in openai_client.models.with_raw_response.list().text
    assert ANTHROPIC_KEY not in gateway_server.log_text()
