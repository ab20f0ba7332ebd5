"""Behaviour every adapter shares, run against each of the four fake protocols."""

from __future__ import annotations

import pytest

from llmcontrol.providers import ErrorKind, ProviderError, TextDelta, Usage
from tests.fakes.behaviours import Drop, HttpError, Malformed, MidStreamError, Reply, Truncated
from tests.fakes.fixtures import closed_port
from tests.providers.conftest import BuildAdapter
from tests.providers.helpers import ask, done, drain, reasonings, texts

LENGTH_REASONS = {"ollama": "length", "openai_compatible": "length",
                  "anthropic": "max_tokens", "google": "MAX_TOKENS"}


def test_complete_returns_answer_usage_and_finish_reason(fake, build: BuildAdapter) -> None:
    fake.enqueue(Reply(text="Hello, world.", input_tokens=9, output_tokens=4))

    completion = build(fake).complete("m1", ask())

    assert completion.content == "Hello, world."
    assert completion.reasoning == ""
    assert completion.provider == fake.kind
    assert completion.model == "m1"
    assert completion.usage == Usage(input_tokens=9, output_tokens=4)
    assert completion.finish_reason == "stop"
    assert (completion.ttft_ms, completion.ttfat_ms) == (None, None)  # nothing was streamed
    assert completion.think_leaked is False
    assert (completion.json_requested, completion.json_valid) == (False, None)
    assert completion.attempts == 1
    assert completion.duration_ms > 0


def test_stream_yields_text_deltas_then_exactly_one_done(fake, build: BuildAdapter) -> None:
    fake.enqueue(Reply(text="Hello brave new world", input_tokens=5, output_tokens=4))

    events, error = drain(build(fake).stream("m1", ask()))

    assert error is None
    assert texts(events) == ["Hello ", "brave ", "new ", "world"]
    completion = done(events)
    assert completion.content == "Hello brave new world"
    assert completion.usage == Usage(input_tokens=5, output_tokens=4)
    assert completion.finish_reason == "stop"
    assert completion.ttft_ms is not None and completion.ttfat_ms is not None
    assert 0 < completion.ttft_ms <= completion.ttfat_ms <= completion.duration_ms
    assert completion.generation_tps is not None and completion.generation_tps > 0


def test_max_tokens_finish_reason_is_normalised_to_length(fake, build: BuildAdapter) -> None:
    fake.enqueue(Reply(finish_reason=LENGTH_REASONS[fake.kind]))
    fake.enqueue(Reply(finish_reason=LENGTH_REASONS[fake.kind]))
    adapter = build(fake)

    assert adapter.complete("m1", ask()).finish_reason == "length"
    assert done(list(adapter.stream("m1", ask()))).finish_reason == "length"


@pytest.mark.parametrize(("status", "kind"), [
    (400, ErrorKind.BAD_REQUEST), (401, ErrorKind.AUTH), (403, ErrorKind.AUTH),
    (404, ErrorKind.MODEL_NOT_FOUND), (429, ErrorKind.RATE_LIMITED),
    (500, ErrorKind.SERVER_ERROR), (503, ErrorKind.SERVER_ERROR),
])
def test_error_status_maps_to_its_kind(fake, build: BuildAdapter, status: int,
                                       kind: ErrorKind) -> None:
    fake.enqueue(HttpError(status, "it went wrong"))

    with pytest.raises(ProviderError) as raised:
        build(fake).complete("m1", ask())

    error = raised.value
    assert (error.kind, error.status_code, error.provider, error.model) == (
        kind, status, fake.kind, "m1")
    assert "it went wrong" in error.message
    assert f"{fake.kind}/m1: {kind}: " in str(error)
    assert len(fake.chat_requests()) == 1


def test_error_status_on_a_stream_request_maps_the_same(fake, build: BuildAdapter) -> None:
    fake.enqueue(HttpError(404, "no such model"))

    events, error = drain(build(fake).stream("m1", ask()))

    assert events == []
    assert error is not None and error.kind == ErrorKind.MODEL_NOT_FOUND
    assert error.partial is False


def test_slow_reply_hits_the_timeout(fake, build: BuildAdapter) -> None:
    fake.enqueue(Reply(delay_s=5.0))

    with pytest.raises(ProviderError) as raised:
        build(fake, timeout_s=0.2).complete("m1", ask())

    assert raised.value.kind == ErrorKind.TIMEOUT
    assert raised.value.retryable is True


def test_stalled_stream_times_out_with_partial_output(fake, build: BuildAdapter) -> None:
    fake.enqueue(Reply(text="first second", chunk_delay_s=5.0))

    events, error = drain(build(fake, timeout_s=0.2).stream("m1", ask()))

    assert texts(events) == ["first "]
    assert error is not None and (error.kind, error.partial) == (ErrorKind.TIMEOUT, True)


def test_connection_refused_is_unavailable(fake, build: BuildAdapter) -> None:
    adapter = build(fake, base_url=f"http://127.0.0.1:{closed_port()}")

    with pytest.raises(ProviderError) as raised:
        adapter.complete("m1", ask())

    assert raised.value.kind == ErrorKind.UNAVAILABLE
    assert raised.value.status_code is None


def test_connection_dropped_before_any_reply_is_unavailable(fake, build: BuildAdapter) -> None:
    fake.enqueue(Drop())

    with pytest.raises(ProviderError) as raised:
        build(fake).complete("m1", ask())

    assert raised.value.kind == ErrorKind.UNAVAILABLE


def test_connection_dropped_mid_body_is_unavailable(fake, build: BuildAdapter) -> None:
    # Nothing reached the caller of a non-streamed call: worth a retry, unlike a cut stream.
    fake.enqueue(Drop(after_chunks=[]))

    with pytest.raises(ProviderError) as raised:
        build(fake).complete("m1", ask())

    assert raised.value.kind == ErrorKind.UNAVAILABLE


def test_connection_dropped_mid_stream_is_invalid_and_partial(fake, build: BuildAdapter) -> None:
    fake.enqueue(Drop(after_chunks=["Hello ", "wor"]))

    events, error = drain(build(fake).stream("m1", ask()))

    assert texts(events) == ["Hello ", "wor"]
    assert error is not None and (error.kind, error.partial) == (ErrorKind.INVALID_RESPONSE, True)


@pytest.mark.parametrize("body", ["{this is not json", '{"unexpected": true}', "[]", ""])
def test_malformed_or_incomplete_body_is_invalid_response(fake, build: BuildAdapter,
                                                          body: str) -> None:
    fake.enqueue(Malformed(body))

    with pytest.raises(ProviderError) as raised:
        build(fake).complete("m1", ask())

    assert raised.value.kind == ErrorKind.INVALID_RESPONSE
    assert raised.value.retryable is False


def test_non_json_stream_line_is_invalid_response(fake, build: BuildAdapter) -> None:
    fake.enqueue(Malformed("<html>502 Bad Gateway</html>"))

    events, error = drain(build(fake).stream("m1", ask()))

    assert events == []
    assert error is not None and (error.kind, error.partial) == (ErrorKind.INVALID_RESPONSE, False)


def test_truncated_body_is_invalid_response(fake, build: BuildAdapter) -> None:
    fake.enqueue(Truncated())

    with pytest.raises(ProviderError) as raised:
        build(fake).complete("m1", ask())

    assert raised.value.kind == ErrorKind.INVALID_RESPONSE


def test_stream_without_its_end_marker_is_truncated(fake, build: BuildAdapter) -> None:
    fake.enqueue(Truncated(["Hel", "lo"]))

    events, error = drain(build(fake).stream("m1", ask()))

    assert texts(events) == ["Hel", "lo"]
    assert error is not None and (error.kind, error.partial) == (ErrorKind.INVALID_RESPONSE, True)
    assert "truncated" in error.message


def test_mid_stream_error_after_deltas_is_partial_and_not_retried(fake,
                                                                 build: BuildAdapter) -> None:
    fake.enqueue(MidStreamError(["Hello ", "there "], message="runner crashed"))

    events, error = drain(build(fake, max_retries=2).stream("m1", ask()))

    assert texts(events) == ["Hello ", "there "]
    assert error is not None
    assert (error.kind, error.partial, error.attempts) == (ErrorKind.SERVER_ERROR, True, 1)
    assert "runner crashed" in error.message
    assert len(fake.chat_requests()) == 1


def test_mid_stream_error_before_any_delta_is_retried(fake, build: BuildAdapter,
                                                      slept: list[float]) -> None:
    fake.enqueue(MidStreamError([]), Reply(text="second try"))

    events, error = drain(build(fake, max_retries=1, retry_backoff_s=0.5).stream("m1", ask()))

    assert error is None
    assert texts(events) == ["second ", "try"]
    assert done(events).attempts == 2
    assert slept == [0.5]


def test_think_tags_split_across_chunks_are_stripped_and_flagged(fake,
                                                                build: BuildAdapter) -> None:
    fake.enqueue(Reply(chunks=["<thi", "nk>plan", "ning</th", "ink>\n\nThe ", "answer"]))

    events, error = drain(build(fake).stream("m1", ask()))

    assert error is None
    assert texts(events) == ["The ", "answer"]
    assert "".join(reasonings(events)) == "planning"
    completion = done(events)
    assert (completion.content, completion.reasoning) == ("The answer", "planning")
    assert completion.think_leaked is True
    assert completion.ttfat_ms is not None and completion.ttft_ms is not None
    assert completion.ttft_ms < completion.ttfat_ms  # the thinking came first


def test_think_tags_in_a_whole_reply_are_stripped_and_flagged(fake, build: BuildAdapter) -> None:
    fake.enqueue(Reply(text="<thinking>the user wants JSON</thinking>\n{\"ok\": true}"))

    completion = build(fake).complete("m1", ask(json_mode=True))

    assert completion.content == '{"ok": true}'
    assert completion.reasoning == "the user wants JSON"
    assert (completion.think_leaked, completion.json_valid) == (True, True)


def test_unclosed_think_tag_keeps_everything_out_of_the_answer(fake, build: BuildAdapter) -> None:
    fake.enqueue(Reply(chunks=["<think>still ", "thinking"],
                       finish_reason=LENGTH_REASONS[fake.kind]))

    events, _ = drain(build(fake).stream("m1", ask()))

    completion = done(events)
    assert texts(events) == []
    assert (completion.content, completion.reasoning) == ("", "still thinking")
    assert completion.ttfat_ms is None
    assert completion.finish_reason == "length"


def test_server_reasoning_channel_is_kept_apart(fake, build: BuildAdapter) -> None:
    fake.enqueue(Reply(text="42", reasoning="six times seven"))
    fake.enqueue(Reply(text="42", reasoning="six times seven"))
    adapter = build(fake)

    completion = adapter.complete("m1", ask())
    events, _ = drain(adapter.stream("m1", ask()))

    assert (completion.content, completion.reasoning, completion.think_leaked) == (
        "42", "six times seven", False)
    assert "".join(reasonings(events)) == "six times seven"
    assert texts(events) == ["42"]


def test_stream_can_be_abandoned_early(fake, build: BuildAdapter) -> None:
    fake.enqueue(Reply(text="one two three four"), Reply(text="next"))
    adapter = build(fake)

    for event in adapter.stream("m1", ask()):
        assert isinstance(event, TextDelta)
        break

    assert adapter.complete("m1", ask()).content == "next"  # the pool is still usable
