"""Retries (Retry-After honoured and capped), JSON verdicts and the async twins, per protocol."""

from __future__ import annotations

import asyncio

import pytest

from llmcontrol.providers import ErrorKind, ProviderError, Usage, build_adapter
from tests.fakes.behaviours import HttpError, MidStreamError, Reply
from tests.providers.conftest import BuildAdapter
from tests.providers.helpers import adrain, ask, done, texts

LABEL_SCHEMA = {"type": "object", "properties": {"label": {"enum": ["spam", "ham"]}},
                "required": ["label"], "additionalProperties": False}


def test_rate_limit_retry_after_is_honoured(fake, build: BuildAdapter,
                                            slept: list[float]) -> None:
    fake.enqueue(HttpError(429, "slow down", retry_after=3), Reply(text="ok"))

    completion = build(fake, max_retries=2).complete("m1", ask())

    assert completion.content == "ok"
    assert completion.attempts == 2
    assert slept == [3.0]  # the server's value, not our backoff
    assert len(fake.chat_requests()) == 2


def test_retry_after_longer_than_the_cap_gives_up_at_once(fake, build: BuildAdapter,
                                                           slept: list[float]) -> None:
    fake.enqueue(HttpError(429, "quota exhausted", retry_after=120))

    with pytest.raises(ProviderError) as raised:
        build(fake, max_retries=2).complete("m1", ask())

    error = raised.value
    assert (error.kind, error.retry_after, error.attempts) == (ErrorKind.RATE_LIMITED, 120.0, 1)
    assert slept == []
    assert len(fake.chat_requests()) == 1


def test_server_errors_back_off_exponentially_until_retries_run_out(
        fake, build: BuildAdapter, slept: list[float]) -> None:
    fake.enqueue(HttpError(500, "boom"), HttpError(503, "boom"), HttpError(500, "boom"))

    with pytest.raises(ProviderError) as raised:
        build(fake, max_retries=2, retry_backoff_s=0.5).complete("m1", ask())

    assert (raised.value.kind, raised.value.attempts) == (ErrorKind.SERVER_ERROR, 3)
    assert slept == [0.5, 1.0]  # full jitter pinned to its ceiling by random() == 1.0
    assert len(fake.chat_requests()) == 3


@pytest.mark.parametrize("status", [400, 401, 404])
def test_terminal_errors_are_not_retried(fake, build: BuildAdapter, slept: list[float],
                                         status: int) -> None:
    fake.enqueue(HttpError(status, "no"))

    with pytest.raises(ProviderError) as raised:
        build(fake, max_retries=3).complete("m1", ask())

    assert raised.value.retryable is False
    assert raised.value.attempts == 1
    assert slept == []
    assert len(fake.chat_requests()) == 1


def test_stream_retries_a_rate_limit_before_the_first_event(fake, build: BuildAdapter,
                                                            slept: list[float]) -> None:
    fake.enqueue(HttpError(429, "slow down", retry_after=1), Reply(text="fine"))

    events = list(build(fake, max_retries=1).stream("m1", ask()))

    assert texts(events) == ["fine"]
    assert done(events).attempts == 2
    assert slept == [1.0]


@pytest.mark.parametrize(("json_mode", "schema", "answer", "valid"), [
    (True, None, '{"label": "spam"}', True),
    (True, None, ' \n{"label": "spam"}\n', True),  # whitespace is part of JSON
    (True, None, '```json\n{"label": "spam"}\n```', False),  # fenced: a program cannot parse it
    (True, None, 'Sure! {"label": "spam"}', False),
    (True, None, "", False),
    (True, None, '{"value": NaN}', False),
    (False, LABEL_SCHEMA, '{"label": "ham"}', True),  # a schema implies JSON
    (False, LABEL_SCHEMA, '{"label": "eggs"}', False),
    (False, LABEL_SCHEMA, '{"label": "ham", "extra": 1}', False),
])
def test_json_answers_are_judged_strictly(fake, build: BuildAdapter, json_mode: bool,
                                          schema: dict | None, answer: str, valid: bool) -> None:
    fake.enqueue(Reply(text=answer))

    completion = build(fake).complete("m1", ask(json_mode=json_mode, schema=schema))

    assert completion.json_requested is True
    assert completion.json_valid is valid


def test_streamed_json_is_judged_on_the_whole_answer(fake, build: BuildAdapter) -> None:
    fake.enqueue(Reply(chunks=['{"lab', 'el": ', '"spam"}']))

    completion = done(list(build(fake).stream("m1", ask(schema=LABEL_SCHEMA))))

    assert completion.content == '{"label": "spam"}'
    assert completion.json_valid is True


def test_invalid_schema_is_refused_without_a_request(fake, build: BuildAdapter) -> None:
    with pytest.raises(ProviderError) as raised:
        build(fake).complete("m1", ask(schema={"type": "no-such-type"}))

    assert raised.value.kind == ErrorKind.BAD_REQUEST
    assert "invalid JSON schema" in raised.value.message
    assert fake.requests == []


def test_api_key_echoed_by_the_server_never_appears_in_errors(fake, build: BuildAdapter) -> None:
    fake.enqueue(HttpError(401, "Incorrect API key provided: sk-live-SECRET123"))

    with pytest.raises(ProviderError) as raised:
        build(fake, api_key="sk-live-SECRET123").complete("m1", ask())

    assert "SECRET123" not in str(raised.value)
    assert "SECRET123" not in raised.value.message
    assert "SECRET123" not in repr(build(fake, api_key="sk-live-SECRET123").config)


def test_async_complete(fake, build: BuildAdapter) -> None:
    fake.enqueue(Reply(text="async hello", input_tokens=3, output_tokens=2))
    adapter = build(fake)

    async def run() -> None:
        completion = await adapter.acomplete("m1", ask())
        assert (completion.content, completion.usage) == ("async hello", Usage(3, 2))
        await adapter.aclose()

    asyncio.run(run())


def test_async_stream(fake, build: BuildAdapter) -> None:
    fake.enqueue(Reply(chunks=["<think>hm</think>", "async ", "hello"]))

    events, error = adrain(build(fake).astream("m1", ask()))

    assert error is None
    assert texts(events) == ["async ", "hello"]
    completion = done(events)
    assert (completion.content, completion.reasoning, completion.think_leaked) == (
        "async hello", "hm", True)


def test_async_retry_honours_retry_after(fake, build: BuildAdapter, slept: list[float]) -> None:
    fake.enqueue(HttpError(429, "slow down", retry_after=2), Reply(text="ok"))
    adapter = build(fake, max_retries=1)

    completion = asyncio.run(adapter.acomplete("m1", ask()))

    assert (completion.content, completion.attempts) == ("ok", 2)
    assert slept == [2.0]


def test_async_mid_stream_error_is_partial(fake, build: BuildAdapter) -> None:
    fake.enqueue(MidStreamError(["Hel"]))

    events, error = adrain(build(fake, max_retries=2).astream("m1", ask()))

    assert texts(events) == ["Hel"]
    assert error is not None and (error.kind, error.partial) == (ErrorKind.SERVER_ERROR, True)


def test_async_clients_survive_successive_event_loops(fake, build: BuildAdapter) -> None:
    # asyncio.run() closes its loop; a client pooled in it must not be reused after.
    adapter = build(fake)

    first = asyncio.run(adapter.acomplete("m1", ask()))
    second = asyncio.run(adapter.acomplete("m1", ask()))

    assert first.content == second.content == "Hello from the fake."


def test_retry_sleeps_fixture_records_default_sleeps(fake_openai,
                                                     retry_sleeps: list[float]) -> None:
    # An adapter built the way the client pool builds it: no injected sleep.
    fake_openai.enqueue(HttpError(503, "busy"), HttpError(429, "slow", retry_after=4), Reply())
    adapter = build_adapter(fake_openai.provider_config(max_retries=2, retry_backoff_s=0.5))

    assert adapter.complete("m", ask()).attempts == 3
    assert retry_sleeps == [0.5, 4.0]
    adapter.close()
