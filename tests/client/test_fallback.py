"""The client against real HTTP servers: local first, cloud on local failure, all recorded."""

from __future__ import annotations

import pytest

from llmcontrol.client import LLMCallError, LLMResult, get_llm_client
from llmcontrol.providers import ErrorKind
from tests.client.conftest import stored_metrics
from tests.fakes.behaviours import Drop, HttpError, MidStreamError, Reply

pytestmark = pytest.mark.usefixtures("wired_registry")

SYSTEM = "Answer with one label: bug, feature, refactor or docs."
PROMPT = "The export button does nothing when the list is empty."


def test_local_answers_when_it_is_up(wired_registry: dict) -> None:
    wired_registry["ollama"].enqueue(Reply(text="bug", input_tokens=30, output_tokens=1))
    result = get_llm_client(purpose="classification").complete(SYSTEM, PROMPT)
    assert (result.content, result.local, result.fallback) == ("bug", True, False)
    assert (result.provider, result.model, result.tier, result.routed_to) == (
        "ollama",
        "qwen3-coder:30b",
        "haiku",
        "local",
    )
    assert (result.usage.input_tokens, result.usage.output_tokens) == (30, 1)
    [row] = stored_metrics()
    assert (row.routed_to, row.success, row.provider, row.stage, row.purpose) == (
        "local",
        True,
        "ollama",
        100,
        "classification",
    )
    assert wired_registry["anthropic"].requests == []


def test_local_down_falls_back_to_the_cloud_and_records_both_attempts(wired_registry: dict) -> None:
    wired_registry["ollama"].stop()
    wired_registry["anthropic"].enqueue(Reply(text="feature"))
    result = get_llm_client(purpose="classification").complete(SYSTEM, PROMPT)
    assert (result.content, result.local, result.fallback, result.routed_to) == (
        "feature",
        False,
        True,
        "fallback",
    )
    assert (result.provider, result.model) == ("anthropic", "claude-haiku-3-5-20241022")
    assert result.attempts == 2 and "unavailable" in result.errors[0]
    first, second = stored_metrics()
    assert (first.routed_to, first.success, first.error_type) == ("local", False, "unavailable")
    assert (second.routed_to, second.success, second.attempt) == ("fallback", True, 1)
    assert first.request_id == second.request_id


@pytest.mark.parametrize(
    "failure, kind",
    [
        (HttpError(500, "runner crashed"), "server_error"),
        (
            HttpError(404, "model 'qwen3-coder:30b' not found, try pulling it first"),
            "model_not_found",
        ),
        (Reply(text="late", delay_s=1.5), "timeout"),
    ],
)
def test_local_failures_that_fall_back(
    wired_registry: dict, monkeypatch: pytest.MonkeyPatch, failure: object, kind: str
) -> None:
    monkeypatch.setenv("OLLAMA_TIMEOUT_MS", "300")
    wired_registry["ollama"].enqueue(failure)
    result = get_llm_client(purpose="classification").complete(SYSTEM, PROMPT)
    assert result.fallback is True
    assert [m.error_type for m in stored_metrics()] == [kind, ""]


def test_a_bad_request_does_not_fall_back(wired_registry: dict) -> None:
    wired_registry["ollama"].enqueue(HttpError(400, '"qwen3-coder:30b" does not support thinking'))
    with pytest.raises(LLMCallError) as excinfo:
        get_llm_client(purpose="classification").complete(SYSTEM, PROMPT, think=True)
    assert excinfo.value.kind == ErrorKind.BAD_REQUEST
    assert wired_registry["anthropic"].requests == []
    assert [(m.routed_to, m.error_type) for m in stored_metrics()] == [("local", "bad_request")]


def test_fallback_switched_off_surfaces_the_local_error(
    wired_registry: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_FALLBACK_ENABLED", "false")
    wired_registry["ollama"].stop()
    with pytest.raises(LLMCallError) as excinfo:
        get_llm_client(purpose="classification").complete(SYSTEM, PROMPT)
    assert excinfo.value.kind == ErrorKind.UNAVAILABLE
    assert "tried ollama/qwen3-coder:30b" in str(excinfo.value)
    assert len(stored_metrics()) == 1


def test_use_local_llm_off_goes_straight_to_the_cloud(
    wired_registry: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USE_LOCAL_LLM", "false")
    result = get_llm_client(purpose="classification").complete(SYSTEM, PROMPT)
    assert (result.local, result.fallback, result.routed_to) == (False, False, "cloud")
    assert "USE_LOCAL_LLM is off" in result.reason
    assert wired_registry["ollama"].requests == []


def test_a_bad_switch_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmcontrol.switches import ConfigError

    monkeypatch.setenv("USE_LOCAL_LLM", "yes please")
    with pytest.raises(ConfigError, match="USE_LOCAL_LLM='yes please' is not a boolean"):
        get_llm_client(purpose="classification").complete(SYSTEM, PROMPT)
    assert stored_metrics() == []


def test_ollama_switches_apply_at_call_time(
    wired_registry: dict, fake_ollama_2, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_BASE_URL", fake_ollama_2.url)
    monkeypatch.setenv("OLLAMA_MODEL", "llama3.2:3b")
    result = get_llm_client(purpose="classification").complete(SYSTEM, PROMPT)
    assert result.model == "llama3.2:3b"
    assert len(fake_ollama_2.requests) == 1 and wired_registry["ollama"].requests == []


def test_a_missing_cloud_key_names_the_variable_and_sends_nothing(
    wired_registry: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USE_LOCAL_LLM", "false")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(LLMCallError, match="environment variable ANTHROPIC_API_KEY is not set"):
        get_llm_client(purpose="validation").complete(SYSTEM, PROMPT)
    assert wired_registry["anthropic"].requests == []


def test_stream_falls_back_before_the_first_delta(wired_registry: dict) -> None:
    wired_registry["ollama"].enqueue(Drop())
    wired_registry["anthropic"].enqueue(Reply(text="a docs issue", chunks=["a ", "docs ", "issue"]))
    parts = list(get_llm_client(purpose="classification").stream(SYSTEM, PROMPT))
    *deltas, final = parts
    assert deltas == ["a ", "docs ", "issue"]
    assert isinstance(final, LLMResult) and final.fallback is True
    assert [(m.routed_to, m.success, m.streamed) for m in stored_metrics()] == [
        ("local", False, True),
        ("fallback", True, True),
    ]


def test_stream_error_after_the_first_delta_surfaces_without_fallback(wired_registry: dict) -> None:
    wired_registry["ollama"].enqueue(MidStreamError(chunks=["par", "tial "]))
    received = []
    with pytest.raises(LLMCallError) as excinfo:
        for part in get_llm_client(purpose="classification").stream(SYSTEM, PROMPT):
            received.append(part)
    assert received == ["par", "tial "]
    assert excinfo.value.partial is True
    assert "no fallback was attempted" in str(excinfo.value)
    assert wired_registry["anthropic"].requests == []
    assert [(m.routed_to, m.success) for m in stored_metrics()] == [("local", False)]


def test_async_twins_fall_back_too(wired_registry: dict, settings) -> None:
    import asyncio

    settings.REGISTRY_POLL_INTERVAL = 0  # every call checks the version: off the event loop

    wired_registry["ollama"].stop()
    wired_registry["anthropic"].enqueue(Reply(text="refactor"), Reply(text="x", chunks=["x"]))
    client = get_llm_client(purpose="classification")

    async def both() -> tuple[LLMResult, list]:
        from asgiref.sync import sync_to_async
        from django.db import connection

        result = await client.acomplete(SYSTEM, PROMPT)
        parts = [p async for p in client.astream(SYSTEM, PROMPT)]
        await sync_to_async(lambda: connection.close())()  # the executor thread's connection
        return result, parts

    result, parts = asyncio.run(both())
    assert (result.content, result.fallback) == ("refactor", True)
    assert parts[0] == "x" and parts[-1].fallback is True


def test_think_tags_and_json_validity_reach_the_result_and_the_metrics(
    wired_registry: dict,
) -> None:
    wired_registry["ollama"].enqueue(Reply(text='<think>hmm, a bug?</think>{"label": "bug"}'))
    result = get_llm_client(purpose="classification").complete(SYSTEM, PROMPT, json=True)
    assert (result.content, result.reasoning) == ('{"label": "bug"}', "hmm, a bug?")
    assert (result.think_leaked, result.json_valid) == (True, True)
    [row] = stored_metrics()
    assert (row.think_leaked, row.json_requested, row.json_valid) == (True, True, True)


def test_metrics_never_hold_prompt_or_answer_text(wired_registry: dict) -> None:
    from django.db import connection

    wired_registry["ollama"].enqueue(Reply(text="SECRET-ANSWER-TEXT"))
    get_llm_client(purpose="classification").complete("SECRET-SYSTEM-TEXT", "SECRET-PROMPT-TEXT")
    stored_metrics()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM canary_requestmetric")
        dump = repr(cursor.fetchall())
    assert "SECRET" not in dump


def test_the_call_path_makes_no_database_query_with_a_warm_snapshot(
    wired_registry: dict, django_assert_num_queries
) -> None:
    client = get_llm_client(purpose="classification")
    client.complete(SYSTEM, PROMPT)  # warms the snapshot and the adapter
    with django_assert_num_queries(0):
        for _ in range(5):
            client.complete(SYSTEM, PROMPT)
    assert len(stored_metrics()) == 6


def test_bad_input_is_refused_before_any_call(wired_registry: dict) -> None:
    client = get_llm_client(purpose="classification")
    with pytest.raises(ValueError, match="max_tokens must be a positive integer, got 0"):
        client.complete(SYSTEM, PROMPT, max_tokens=0)
    with pytest.raises(TypeError, match="unknown option"):
        client.complete(SYSTEM, PROMPT, max_tokns=5)
    with pytest.raises(ValueError, match=r"messages\[0\] needs role"):
        client.chat([{"role": "robot", "content": "hi"}])
    assert wired_registry["ollama"].requests == []
    assert stored_metrics() == []


def test_routing_status_and_helpers(wired_registry: dict) -> None:
    from llmcontrol.client import (
        get_routing_status,
        get_security_client,
        get_sub_agent_client,
        is_local_llm_enabled,
        refresh_model_registry,
    )

    assert is_local_llm_enabled() is True
    status = get_routing_status()
    assert status["tiers"]["haiku"]["stage"] == 100 and status["tiers"]["opus"]["stage"] == 0
    assert get_security_client().decide().tier == "opus"
    assert get_sub_agent_client("QUICKFIX", phase="EXEC").decide().tier == "haiku"
    assert refresh_model_registry() == status["snapshot_version"]
