"""OpenAI Chat Completions (OpenAI, llama.cpp, vLLM, Ollama /v1): body, SSE, usage, errors."""

from __future__ import annotations

import pytest

from llmcontrol.providers import ErrorKind, ProviderError, Usage
from tests.fakes.behaviours import HttpError, Reply
from tests.fakes.fake_openai import FakeOpenAI
from tests.providers.conftest import BuildAdapter
from tests.providers.helpers import ask, done, drain, reasonings, texts

SCHEMA = {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}


def test_local_server_request_body(fake_openai: FakeOpenAI, build: BuildAdapter) -> None:
    build(fake_openai).complete("smollm2", ask("Hi", system="Be terse.", max_tokens=32,
                                               stop=("END",), seed=1, json_mode=True))

    request = fake_openai.chat_requests()[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.body == {
        "model": "smollm2",
        "messages": [{"role": "system", "content": "Be terse."},
                     {"role": "user", "content": "Hi"}],
        "stream": False,
        "temperature": 0.0,  # explicit: Ollama's /v1 would default to 1.0
        "max_tokens": 32,
        "stop": ["END"],
        "seed": 1,
        "response_format": {"type": "json_object"},
    }


def test_openai_cloud_gets_max_completion_tokens_and_json_schema(fake_openai: FakeOpenAI,
                                                                 build: BuildAdapter) -> None:
    build(fake_openai, kind="openai").complete("gpt-4o-mini", ask(max_tokens=50, schema=SCHEMA))

    body = fake_openai.chat_requests()[0].body
    assert body["max_completion_tokens"] == 50
    assert "max_tokens" not in body
    assert body["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "answer", "schema": SCHEMA}}


def test_local_server_gets_the_schema_in_json_object_mode(fake_openai: FakeOpenAI,
                                                          build: BuildAdapter) -> None:
    build(fake_openai).complete("smollm2", ask(schema=SCHEMA))

    body = fake_openai.chat_requests()[0].body
    assert body["response_format"] == {"type": "json_object", "schema": SCHEMA}


@pytest.mark.parametrize(("think", "effort"), [(False, "none"), (True, "medium"),
                                               ("low", "low"), ("max", "high")])
def test_think_maps_to_reasoning_effort(fake_openai: FakeOpenAI, build: BuildAdapter,
                                        think: bool | str, effort: str) -> None:
    build(fake_openai).complete("m", ask(think=think))

    assert fake_openai.chat_requests()[0].body["reasoning_effort"] == effort


def test_stream_asks_for_usage_and_reads_it_from_the_last_chunk(fake_openai: FakeOpenAI,
                                                                build: BuildAdapter) -> None:
    fake_openai.enqueue(Reply(text="one two", input_tokens=11, output_tokens=2))

    completion = done(list(build(fake_openai).stream("m", ask())))

    body = fake_openai.chat_requests()[0].body
    assert (body["stream"], body["stream_options"]) == (True, {"include_usage": True})
    assert completion.usage == Usage(11, 2)
    assert completion.tps_source == "measured"


def test_stream_without_usage_counts_chunks(fake_openai: FakeOpenAI, build: BuildAdapter) -> None:
    # llama-cpp-python ignores include_usage; one chunk carries one token there.
    fake_openai.enqueue(Reply(chunks=["a", "b", "c"], include_usage=False))

    completion = done(list(build(fake_openai).stream("m", ask())))

    assert completion.usage == Usage(input_tokens=0, output_tokens=3)


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_fields_of_vllm_and_ollama(fake_openai: FakeOpenAI, build: BuildAdapter,
                                            field: str) -> None:
    fake_openai.reasoning_field = field
    fake_openai.enqueue(Reply(text="4", reasoning="2+2"), Reply(text="4", reasoning="2+2"))
    adapter = build(fake_openai)

    completion = adapter.complete("m", ask())
    events, _ = drain(adapter.stream("m", ask()))

    assert (completion.content, completion.reasoning) == ("4", "2+2")
    assert (texts(events), reasonings(events)) == (["4"], ["2+2"])


def test_wrong_api_key_is_auth(build: BuildAdapter) -> None:
    with FakeOpenAI(api_key="sk-right") as server:
        with pytest.raises(ProviderError) as raised:
            build(server, api_key="sk-wrong").complete("m", ask())

        assert (raised.value.kind, raised.value.status_code) == (ErrorKind.AUTH, 401)
        assert raised.value.message == "Incorrect API key provided."


def test_retry_after_ms_takes_precedence(fake_openai: FakeOpenAI, build: BuildAdapter,
                                         slept: list[float]) -> None:
    fake_openai.enqueue(HttpError(429, "slow", retry_after=2, retry_after_ms=1500), Reply())

    build(fake_openai, max_retries=1).complete("m", ask())

    assert slept == [1.5]


def test_health_lists_served_models_as_loaded_when_local(fake_openai: FakeOpenAI,
                                                         build: BuildAdapter) -> None:
    report = build(fake_openai, is_local=True).health()

    assert report.ok is True
    assert report.models == report.loaded == ["smollm2-135m-instruct", "gpt-4o-mini"]
    assert [r.path for r in fake_openai.requests] == ["/v1/models"]


def test_health_with_a_rejected_key_is_not_ok(fake_openai: FakeOpenAI,
                                             build: BuildAdapter) -> None:
    fake_openai.api_key = "sk-right"

    report = build(fake_openai, api_key="sk-wrong").health()

    assert report.ok is False
    assert report.detail.startswith("openai_compatible: auth: ")
    assert (report.models, report.loaded) == ([], [])


def test_base_url_with_v1_is_not_doubled(fake_openai: FakeOpenAI, build: BuildAdapter) -> None:
    build(fake_openai, base_url=f"{fake_openai.url}/v1").complete("m", ask())

    assert fake_openai.chat_requests()[0].path == "/v1/chat/completions"


def test_a_stream_ending_done_without_a_finish_reason_is_truncated(
    fake_openai: FakeOpenAI, build: BuildAdapter
) -> None:
    """llama.cpp's server interrupted by another request ended the stream in progress with
    [DONE] alone: a cut answer that would have read as complete."""
    from tests.fakes.behaviours import Truncated

    fake_openai.enqueue(Truncated(["Hel", "lo"], done_marker=True))

    events, error = drain(build(fake_openai).stream("smollm2", ask()))

    assert texts(events) == ["Hel", "lo"]
    assert error is not None and (error.kind, error.partial) == (ErrorKind.INVALID_RESPONSE, True)
    assert "no finish_reason" in error.message
