"""Gemini REST: body, key header, SSE chunks, finish reasons, RetryInfo, key errors."""

from __future__ import annotations

import pytest

from llmcontrol.providers import ErrorKind, Message, ProviderError, Usage
from llmcontrol.providers.base import ChatRequest
from tests.fakes.behaviours import HttpError, Malformed, Reply
from tests.fakes.fake_gemini import FakeGemini
from tests.providers.conftest import BuildAdapter
from tests.providers.helpers import ask, done, drain, reasonings, texts

SCHEMA = {"type": "object", "properties": {"label": {"type": "string"}}}


def test_request_body_and_key_header(fake_gemini: FakeGemini, build: BuildAdapter) -> None:
    conversation = ChatRequest(
        messages=(Message("user", "Hi"), Message("assistant", "Hello!"), Message("user", "Bye")),
        system="Be kind.", max_tokens=99, temperature=0.5, stop=("END",), seed=3, schema=SCHEMA,
        think=False)

    build(fake_gemini, api_key="g-key").complete("gemini-2.0-flash", conversation)

    request = fake_gemini.chat_requests()[0]
    assert request.path == "/v1beta/models/gemini-2.0-flash:generateContent"
    assert request.query == {}
    assert request.headers["x-goog-api-key"] == "g-key"
    assert request.body == {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]},
                     {"role": "model", "parts": [{"text": "Hello!"}]},
                     {"role": "user", "parts": [{"text": "Bye"}]}],
        "systemInstruction": {"parts": [{"text": "Be kind."}]},
        "generationConfig": {"temperature": 0.5, "maxOutputTokens": 99, "stopSequences": ["END"],
                             "seed": 3, "responseMimeType": "application/json",
                             "responseSchema": SCHEMA, "thinkingConfig": {"thinkingBudget": 0}},
    }


def test_stream_uses_alt_sse(fake_gemini: FakeGemini, build: BuildAdapter) -> None:
    fake_gemini.enqueue(Reply(text="a b", reasoning="why", input_tokens=6, output_tokens=2))

    events, error = drain(build(fake_gemini).stream("models/gemini-2.0-flash", ask(think=True)))

    request = fake_gemini.chat_requests()[0]
    assert request.path == "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
    assert request.query == {"alt": "sse"}
    assert request.body["generationConfig"]["thinkingConfig"] == {"includeThoughts": True}
    assert error is None
    assert (reasonings(events), texts(events)) == (["why"], ["a ", "b"])
    assert done(events).usage == Usage(6, 2)


def test_safety_finish_reason_stays_raw(fake_gemini: FakeGemini, build: BuildAdapter) -> None:
    fake_gemini.enqueue(Reply(text="", finish_reason="SAFETY"))

    completion = build(fake_gemini).complete("g", ask())

    assert (completion.content, completion.finish_reason) == ("", "SAFETY")


def test_blocked_prompt_is_an_empty_answer_that_says_why(fake_gemini: FakeGemini,
                                                         build: BuildAdapter) -> None:
    fake_gemini.enqueue(Malformed('{"promptFeedback": {"blockReason": "SAFETY"}, '
                                  '"usageMetadata": {"promptTokenCount": 4}}'))

    completion = build(fake_gemini).complete("g", ask())

    assert (completion.content, completion.finish_reason) == ("", "SAFETY")
    assert completion.usage == Usage(4, 0)


def test_reply_without_candidates_or_reason_is_invalid(fake_gemini: FakeGemini,
                                                       build: BuildAdapter) -> None:
    fake_gemini.enqueue(Malformed('{"usageMetadata": {"promptTokenCount": 4}}'))

    with pytest.raises(ProviderError) as raised:
        build(fake_gemini).complete("g", ask())

    assert raised.value.kind == ErrorKind.INVALID_RESPONSE


def test_resource_exhausted_retry_info_is_honoured(fake_gemini: FakeGemini, build: BuildAdapter,
                                                   slept: list[float]) -> None:
    fake_gemini.enqueue(HttpError(429, "Quota exceeded", retry_after=7), Reply(text="ok"))

    completion = build(fake_gemini, max_retries=1).complete("g", ask())

    assert completion.attempts == 2
    assert slept == [7.0]


def test_resource_exhausted_error_details(fake_gemini: FakeGemini, build: BuildAdapter) -> None:
    fake_gemini.enqueue(HttpError(429, "Quota exceeded", retry_after=40))

    with pytest.raises(ProviderError) as raised:
        build(fake_gemini, max_retries=3).complete("g", ask())

    error = raised.value
    assert (error.kind, error.status_code, error.retry_after) == (ErrorKind.RATE_LIMITED, 429, 40.0)
    assert error.message == "Quota exceeded"


def test_invalid_api_key_400_is_auth(build: BuildAdapter) -> None:
    with FakeGemini(api_key="right") as server, pytest.raises(ProviderError) as raised:
        build(server, api_key="wrong").complete("g", ask())

    assert (raised.value.kind, raised.value.status_code) == (ErrorKind.AUTH, 400)


def test_status_string_decides_over_the_http_code(fake_gemini: FakeGemini,
                                                  build: BuildAdapter) -> None:
    fake_gemini.enqueue(HttpError(500, "deadline", error_type="DEADLINE_EXCEEDED"))

    with pytest.raises(ProviderError) as raised:
        build(fake_gemini).complete("g", ask())

    assert raised.value.kind == ErrorKind.TIMEOUT


def test_health_lists_models_without_the_prefix(fake_gemini: FakeGemini,
                                                build: BuildAdapter) -> None:
    report = build(fake_gemini).health()

    assert report.ok is True
    assert report.models == ["gemini-2.0-flash", "gemini-2.5-pro"]
    assert fake_gemini.requests[0].path == "/v1beta/models"
