"""Ollama's native API: the request body, server statistics, its prose errors, health."""

from __future__ import annotations

import pytest

from llmcontrol.providers import ErrorKind, ProviderError
from tests.fakes.behaviours import HttpError, MidStreamError, Reply
from tests.fakes.fake_ollama import GENERATION_TPS, PROMPT_TPS, FakeOllama
from tests.providers.conftest import BuildAdapter
from tests.providers.helpers import ask, done, drain, texts

SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}}


def test_request_body_uses_num_predict_and_explicit_stream(fake_ollama: FakeOllama,
                                                           build: BuildAdapter) -> None:
    build(fake_ollama).complete("llama3.2:3b", ask(
        "Classify this.", system="You classify.", max_tokens=64, temperature=0.2, seed=7,
        stop=("\n\n",), think=False, keep_alive="-1m", json_mode=True))

    request = fake_ollama.chat_requests()[0]
    assert (request.method, request.path) == ("POST", "/api/chat")
    assert request.body == {
        "model": "llama3.2:3b",
        "messages": [{"role": "system", "content": "You classify."},
                     {"role": "user", "content": "Classify this."}],
        "stream": False,
        "options": {"temperature": 0.2, "num_predict": 64, "seed": 7, "stop": ["\n\n"]},
        "format": "json",
        "think": False,
        "keep_alive": "-1m",
    }
    assert "max_tokens" not in request.body["options"]


def test_stream_request_says_stream_true_and_sends_the_schema_as_format(
        fake_ollama: FakeOllama, build: BuildAdapter) -> None:
    list(build(fake_ollama).stream("llama3.2:3b", ask(schema=SCHEMA, think="high")))

    body = fake_ollama.chat_requests()[0].body
    assert (body["stream"], body["format"], body["think"]) == (True, SCHEMA, "high")
    assert body["options"] == {"temperature": 0.0, "num_predict": 1024}
    assert "keep_alive" not in body


def test_generation_rate_comes_from_server_statistics(fake_ollama: FakeOllama,
                                                      build: BuildAdapter) -> None:
    fake_ollama.enqueue(Reply(input_tokens=40, output_tokens=20), Reply(output_tokens=20))
    adapter = build(fake_ollama)

    completion = adapter.complete("llama3.2:3b", ask())
    streamed = done(list(adapter.stream("llama3.2:3b", ask())))

    for result in (completion, streamed):
        assert result.tps_source == "server"
        assert result.generation_tps == pytest.approx(GENERATION_TPS)
        assert result.prompt_tps == pytest.approx(PROMPT_TPS)
    assert completion.usage.input_tokens == 40


def test_thinking_field_becomes_reasoning(fake_ollama: FakeOllama, build: BuildAdapter) -> None:
    fake_ollama.enqueue(Reply(text="Paris", reasoning="The capital of France is Paris."))

    completion = build(fake_ollama).complete("qwen3:8b", ask(think=True))

    assert completion.content == "Paris"
    assert completion.reasoning == "The capital of France is Paris."
    assert completion.think_leaked is False


def test_unknown_model_is_model_not_found(fake_ollama: FakeOllama, build: BuildAdapter) -> None:
    fake_ollama.strict_models = True

    with pytest.raises(ProviderError) as raised:
        build(fake_ollama).complete("mistral:7b", ask())

    assert (raised.value.kind, raised.value.status_code) == (ErrorKind.MODEL_NOT_FOUND, 404)
    assert raised.value.message == "model 'mistral:7b' not found"


def test_thinking_on_a_model_without_it_is_bad_request(fake_ollama: FakeOllama,
                                                       build: BuildAdapter) -> None:
    fake_ollama.thinking_models = {"qwen3:8b"}

    with pytest.raises(ProviderError) as raised:
        build(fake_ollama, max_retries=2).complete("llama3.2:3b", ask(think=True))

    assert (raised.value.kind, raised.value.status_code) == (ErrorKind.BAD_REQUEST, 400)
    assert "does not support thinking" in raised.value.message
    assert len(fake_ollama.chat_requests()) == 1


def test_queue_full_503_is_a_retryable_server_error(fake_ollama: FakeOllama, build: BuildAdapter,
                                                     slept: list[float]) -> None:
    fake_ollama.enqueue(HttpError(503, "server busy, please try again.  maximum pending "
                                       "requests exceeded"), Reply(text="queued fine"))

    completion = build(fake_ollama, max_retries=1, retry_backoff_s=0.25).complete("m", ask())

    assert (completion.content, completion.attempts) == ("queued fine", 2)
    assert slept == [0.25]


def test_error_line_mid_stream_with_status_200(fake_ollama: FakeOllama,
                                               build: BuildAdapter) -> None:
    fake_ollama.enqueue(MidStreamError(["The "], message="an error was encountered while "
                                                           "running the model: unexpected EOF"))

    events, error = drain(build(fake_ollama).stream("llama3.2:3b", ask()))

    assert texts(events) == ["The "]
    assert error is not None
    assert (error.kind, error.partial, error.status_code) == (ErrorKind.SERVER_ERROR, True, None)
    assert "unexpected EOF" in error.message


def test_model_not_found_arriving_as_a_stream_line(fake_ollama: FakeOllama,
                                                   build: BuildAdapter) -> None:
    fake_ollama.enqueue(MidStreamError([], message="model 'x' not found, try pulling it first"))

    _, error = drain(build(fake_ollama, max_retries=2).stream("x", ask()))

    assert error is not None and error.kind == ErrorKind.MODEL_NOT_FOUND
    assert len(fake_ollama.chat_requests()) == 1  # not retryable


def test_health_reports_installed_and_loaded_models(fake_ollama: FakeOllama,
                                                    build: BuildAdapter) -> None:
    fake_ollama.spill = True

    report = build(fake_ollama).health()

    assert report.ok is True
    assert report.models == ["llama3.2:3b", "qwen3-coder:30b"]
    assert report.loaded == ["llama3.2:3b"]
    assert report.detail == "2 model(s) installed, 1 loaded; llama3.2:3b has 50% in VRAM"
    assert [r.path for r in fake_ollama.requests] == ["/api/tags", "/api/ps"]
    assert fake_ollama.chat_requests() == []  # health never bills a completion


def test_base_url_ending_in_api_is_tolerated(fake_ollama: FakeOllama,
                                             build: BuildAdapter) -> None:
    adapter = build(fake_ollama, base_url=f"{fake_ollama.url}/api/")

    assert adapter.complete("m", ask()).content == "Hello from the fake."
    assert fake_ollama.chat_requests()[0].path == "/api/chat"
