"""The official anthropic SDK talking to FakeAnthropic: body, headers, events, errors."""

from __future__ import annotations

import json

import anthropic
import pytest

from llmcontrol.providers import ErrorKind, ProviderError, Usage
from llmcontrol.providers.anthropic_sdk import json_instruction
from tests.fakes.behaviours import HttpError, MidStreamError, Reply
from tests.fakes.fake_anthropic import FakeAnthropic
from tests.providers.conftest import BuildAdapter
from tests.providers.helpers import ask, done, drain, reasonings, texts

SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


def test_system_prompt_is_top_level_and_headers_follow_the_wire_format(
        fake_anthropic: FakeAnthropic, build: BuildAdapter) -> None:
    build(fake_anthropic, api_key="sk-ant-1").complete("claude-haiku-3-5-20241022", ask(
        "Hello", system="You are terse.", max_tokens=100, temperature=0.3, stop=("STOP",)))

    request = fake_anthropic.chat_requests()[0]
    assert request.path == "/v1/messages"
    assert request.body == {
        "model": "claude-haiku-3-5-20241022",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Hello"}],
        "system": "You are terse.",
        "stop_sequences": ["STOP"],
        "temperature": 0.3,
    }
    assert request.headers["x-api-key"] == "sk-ant-1"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert request.headers["x-stainless-retry-count"] == "0"


def test_json_is_an_instruction_then_validation(fake_anthropic: FakeAnthropic,
                                                build: BuildAdapter) -> None:
    fake_anthropic.enqueue(Reply(text='{"ok": true}'))

    completion = build(fake_anthropic).complete("c", ask(system="Judge.", schema=SCHEMA))

    body = fake_anthropic.chat_requests()[0].body
    assert body["system"] == f"Judge.\n\n{json_instruction(SCHEMA)}"
    assert json.dumps(SCHEMA) in body["system"]
    assert (completion.json_requested, completion.json_valid) == (True, True)


def test_thinking_is_enabled_with_a_budget_and_no_temperature(fake_anthropic: FakeAnthropic,
                                                              build: BuildAdapter) -> None:
    fake_anthropic.enqueue(Reply(text="42", reasoning="Let me compute."))

    completion = build(fake_anthropic).complete("c", ask(think="low", max_tokens=4000))

    body = fake_anthropic.chat_requests()[0].body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert "temperature" not in body
    assert (completion.content, completion.reasoning) == ("42", "Let me compute.")


def test_thinking_needs_room_under_max_tokens(fake_anthropic: FakeAnthropic,
                                              build: BuildAdapter) -> None:
    build(fake_anthropic).complete("c", ask(think=True, max_tokens=512))

    body = fake_anthropic.chat_requests()[0].body
    assert "thinking" not in body
    assert body["temperature"] == 0.0


def test_stream_with_ping_thinking_and_text_blocks(fake_anthropic: FakeAnthropic,
                                                   build: BuildAdapter) -> None:
    fake_anthropic.enqueue(Reply(text="Hi there", reasoning="greet back", input_tokens=20,
                                 output_tokens=9))

    events, error = drain(build(fake_anthropic).stream("c", ask()))

    assert error is None
    assert fake_anthropic.chat_requests()[0].body["stream"] is True
    assert (reasonings(events), texts(events)) == (["greet ", "back"], ["Hi ", "there"])
    completion = done(events)
    assert completion.usage == Usage(20, 9)  # input from message_start, output from message_delta
    assert completion.finish_reason == "stop"  # end_turn


def test_overloaded_529_is_a_retryable_server_error(fake_anthropic: FakeAnthropic,
                                                    build: BuildAdapter,
                                                    slept: list[float]) -> None:
    fake_anthropic.enqueue(HttpError(529, "Overloaded"), Reply(text="ok"))

    completion = build(fake_anthropic, max_retries=1, retry_backoff_s=0.5).complete("c", ask())

    assert (completion.content, completion.attempts) == ("ok", 2)
    assert slept == [0.5]


def test_529_error_carries_the_type_and_status(fake_anthropic: FakeAnthropic,
                                               build: BuildAdapter) -> None:
    fake_anthropic.enqueue(HttpError(529, "Overloaded"))

    with pytest.raises(ProviderError) as raised:
        build(fake_anthropic).complete("c", ask())

    error = raised.value
    assert (error.kind, error.status_code) == (ErrorKind.SERVER_ERROR, 529)
    assert error.message == "overloaded_error: Overloaded"


@pytest.mark.parametrize(("error_type", "kind"), [
    ("overloaded_error", ErrorKind.SERVER_ERROR), ("api_error", ErrorKind.SERVER_ERROR),
    ("rate_limit_error", ErrorKind.RATE_LIMITED),
    ("invalid_request_error", ErrorKind.BAD_REQUEST),
])
def test_error_event_mid_stream_is_classified_by_its_type(
        fake_anthropic: FakeAnthropic, build: BuildAdapter, error_type: str,
        kind: ErrorKind) -> None:
    fake_anthropic.enqueue(MidStreamError(["Par", "tial"], message="mid-stream trouble",
                                          error_type=error_type))

    events, error = drain(build(fake_anthropic).stream("c", ask()))

    assert texts(events) == ["Par", "tial"]
    assert error is not None
    assert (error.kind, error.partial, error.status_code) == (kind, True, None)
    assert error.message == f"{error_type}: mid-stream trouble"


def test_missing_version_header_would_be_refused(fake_anthropic: FakeAnthropic) -> None:
    # The fake enforces the header the SDK must send: a raw client without it fails.
    client = anthropic.Anthropic(api_key="k", base_url=fake_anthropic.url, max_retries=0,
                                 default_headers={"anthropic-version": anthropic.Omit()})
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(model="c", max_tokens=5, messages=[{"role": "user",
                                                                   "content": "x"}])
    assert raised.value.body == {"type": "error", "error": {
        "type": "invalid_request_error", "message": "anthropic-version: header is required"}}
    client.close()


def test_wrong_key_is_auth(build: BuildAdapter) -> None:
    with FakeAnthropic(api_key="sk-ant-right") as server, \
            pytest.raises(ProviderError) as raised:
        build(server, api_key="sk-ant-wrong").complete("c", ask())

    assert (raised.value.kind, raised.value.status_code) == (ErrorKind.AUTH, 401)
    assert raised.value.message == "authentication_error: invalid x-api-key"


def test_health_uses_the_free_models_listing(fake_anthropic: FakeAnthropic,
                                             build: BuildAdapter) -> None:
    report = build(fake_anthropic).health()

    assert report.ok is True
    assert report.models == ["claude-haiku-3-5-20241022", "claude-sonnet-4-20250514"]
    assert [(r.method, r.path) for r in fake_anthropic.requests] == [("GET", "/v1/models")]


def test_health_without_a_key_is_honestly_unknown(fake_anthropic: FakeAnthropic,
                                                  build: BuildAdapter) -> None:
    report = build(fake_anthropic, api_key=None).health()

    assert (report.ok, report.detail) == (False, "no API key configured: health unknown")
    assert fake_anthropic.requests == []
