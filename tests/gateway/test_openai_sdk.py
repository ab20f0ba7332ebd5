"""The gateway driven by the official OpenAI SDK, against a live ASGI server and fake providers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import OpenAI

from llmcontrol.routing import bucket_for
from tests.fakes.behaviours import Reply
from tests.gateway.conftest import metrics_since

pytestmark = pytest.mark.usefixtures("gateway_registry")

MESSAGES = [{"role": "system", "content": "Answer with one label: bug, feature or docs."},
            {"role": "user", "content": "The export button does nothing."}]


def test_a_completion_routed_local_with_its_routing_headers(
    openai_client: OpenAI, gateway_registry: dict[str, Any]
) -> None:
    gateway_registry["ollama"].enqueue(Reply(text="bug", input_tokens=30, output_tokens=1))
    raw = openai_client.chat.completions.with_raw_response.create(
        model="haiku", messages=MESSAGES, max_tokens=5, temperature=0.2, user="user-42")
    completion = raw.parse()
    assert completion.choices[0].message.content == "bug"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "qwen3-coder:30b"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens,
            completion.usage.total_tokens) == (30, 1, 31)
    assert {name: raw.headers[f"x-llmcontrol-{name}"] for name in (
        "provider", "model", "routed-to", "fallback", "tier")} == {
        "provider": "ollama", "model": "qwen3-coder:30b", "routed-to": "local",
        "fallback": "false", "tier": "haiku"}
    assert 0 <= float(raw.headers["x-llmcontrol-overhead-ms"]) < 1000
    # What reached the provider: the system prompt, the options, nothing else.
    [sent] = gateway_registry["ollama"].chat_requests()
    assert sent.body["messages"][0] == {"role": "system", "content": MESSAGES[0]["content"]}
    assert (sent.body["options"]["num_predict"], sent.body["options"]["temperature"]) == (5, 0.2)
    # Recorded like any client call; `user` was the routing key.
    [row] = metrics_since(gateway_registry["started"], 1)
    assert (row.tier, row.routed_to, row.success, row.bucket) == (
        "haiku", "local", True, bucket_for("user-42"))
    assert completion.id == f"chatcmpl-{row.request_id}"


def test_local_down_falls_back_and_the_headers_say_so(
    openai_client: OpenAI, gateway_registry: dict[str, Any]
) -> None:
    gateway_registry["ollama"].stop()
    gateway_registry["anthropic"].enqueue(Reply(text="feature"))
    raw = openai_client.chat.completions.with_raw_response.create(model="haiku",
                                                                   messages=MESSAGES)
    assert raw.parse().choices[0].message.content == "feature"
    assert (raw.headers["x-llmcontrol-provider"], raw.headers["x-llmcontrol-routed-to"],
            raw.headers["x-llmcontrol-fallback"]) == ("anthropic", "fallback", "true")
    local, fallback = metrics_since(gateway_registry["started"], 2)
    assert (local.routed_to, local.success, local.error_type) == ("local", False, "unavailable")
    assert (fallback.routed_to, fallback.success) == ("fallback", True)


def test_streaming_with_usage(openai_client: OpenAI, gateway_registry: dict[str, Any]) -> None:
    gateway_registry["ollama"].enqueue(Reply(chunks=["It ", "is ", "a ", "bug."],
                                             input_tokens=20, output_tokens=4))
    with openai_client.chat.completions.with_streaming_response.create(
            model="haiku", messages=MESSAGES, stream=True,
            stream_options={"include_usage": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-llmcontrol-routed-to"] == "local"
        chunks = list(response.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "It is a bug."
    assert chunks[0].choices[0].delta.role == "assistant"
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and
              c.choices[0].finish_reason]
    assert finish == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    assert len({c.id for c in chunks}) == 1
    [row] = metrics_since(gateway_registry["started"], 1)
    assert (row.streamed, row.success, row.output_tokens) == (True, True, 4)


def test_the_stream_ends_with_done(gateway_server: Any, gateway_key: str) -> None:
    import httpx

    with httpx.stream("POST", f"{gateway_server.url}/v1/chat/completions", json={
            "model": "haiku", "messages": MESSAGES, "stream": True},
            headers={"Authorization": f"Bearer {gateway_key}"}, timeout=30) as response:
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith("data: ") for line in lines)
    assert "usage" not in json.loads(lines[-2][6:])  # not asked for


def test_streaming_falls_back_before_the_first_delta(
    openai_client: OpenAI, gateway_registry: dict[str, Any]
) -> None:
    gateway_registry["ollama"].stop()
    gateway_registry["anthropic"].enqueue(Reply(text="from the cloud"))
    with openai_client.chat.completions.with_streaming_response.create(
            model="haiku", messages=MESSAGES, stream=True) as response:
        assert (response.headers["x-llmcontrol-provider"],
                response.headers["x-llmcontrol-fallback"]) == ("anthropic", "true")
        text = "".join(c.choices[0].delta.content or "" for c in response.parse() if c.choices)
    assert text == "from the cloud"


@pytest.mark.parametrize("response_format, sent", [
    ({"type": "json_object"}, "json"),
    ({"type": "json_schema", "json_schema": {"name": "label", "schema": {
        "type": "object", "properties": {"label": {"type": "string"}},
        "required": ["label"]}}}, {"type": "object", "properties": {"label": {"type": "string"}},
                                   "required": ["label"]}),
])
def test_json_mode_reaches_the_provider(openai_client: OpenAI, gateway_registry: dict[str, Any],
                                        response_format: dict, sent: Any) -> None:
    gateway_registry["ollama"].enqueue(Reply(text='{"label": "bug"}'))
    completion = openai_client.chat.completions.create(model="haiku", messages=MESSAGES,
                                                       response_format=response_format)
    assert json.loads(completion.choices[0].message.content) == {"label": "bug"}
    [request] = gateway_registry["ollama"].chat_requests()
    assert request.body["format"] == sent
    [row] = metrics_since(gateway_registry["started"], 1)
    assert (row.json_requested, row.json_valid) == (True, True)


def test_auto_routes_by_metadata_or_headers(openai_client: OpenAI,
                                            gateway_registry: dict[str, Any]) -> None:
    by_metadata = openai_client.chat.completions.with_raw_response.create(
        model="auto", messages=MESSAGES, metadata={"purpose": "analysis"})
    assert by_metadata.headers["x-llmcontrol-tier"] == "sonnet"
    assert by_metadata.headers["x-llmcontrol-provider"] == "anthropic"
    by_headers = openai_client.chat.completions.with_raw_response.create(
        model="auto", messages=MESSAGES,
        extra_headers={"X-LLM-Sub-Agent": "QUICKFIX", "X-LLM-Phase": "EXEC"})
    assert (by_headers.headers["x-llmcontrol-tier"],
            by_headers.headers["x-llmcontrol-routed-to"]) == ("haiku", "local")
    not_local = openai_client.chat.completions.with_raw_response.create(
        model="auto", messages=MESSAGES,
        metadata={"purpose": "classification", "allow_local": "false"})
    assert not_local.headers["x-llmcontrol-routed-to"] == "cloud"
    rows = metrics_since(gateway_registry["started"], 3)
    assert [(r.purpose, r.sub_agent, r.phase) for r in rows] == [
        ("analysis", "", ""), ("", "QUICKFIX", "EXEC"), ("classification", "", "")]


def test_a_registry_model_key_and_a_provider_ref(openai_client: OpenAI) -> None:
    raw = openai_client.chat.completions.with_raw_response.create(
        model="claude-sonnet-4-20250514", messages=MESSAGES)
    assert (raw.headers["x-llmcontrol-model"], raw.headers["x-llmcontrol-tier"]) == (
        "claude-sonnet-4-20250514", "sonnet")
    raw = openai_client.chat.completions.with_raw_response.create(
        model="llamacpp-local/smollm2-135m-instruct", messages=MESSAGES)
    assert (raw.headers["x-llmcontrol-provider"], raw.headers["x-llmcontrol-routed-to"]) == (
        "llamacpp-local", "local")


def test_models_lists_aliases_and_active_models(openai_client: OpenAI) -> None:
    ids = [m.id for m in openai_client.models.list()]
    assert ids[:4] == ["auto", "haiku", "sonnet", "opus"]
    assert {"qwen3-coder:30b", "claude-haiku-3-5-20241022", "claude-opus-4-5-20251101"} <= set(ids)
    assert "gpt-4o-mini" not in ids  # its provider is disabled
    assert openai_client.models.retrieve("sonnet").owned_by == "llmcontrol"
