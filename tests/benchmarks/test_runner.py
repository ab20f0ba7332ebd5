"""The runner core against the fake servers, with a clock that ticks a quarter second per
reading: timings and rates are exact, and nothing sleeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.checks import parse_check
from benchmarks.runner import CaseSpec, Runner, run_model
from llmcontrol.providers import ProviderConfig, build_adapter
from tests.fakes.behaviours import Drop, HttpError, MidStreamError, Reply
from tests.fakes.fixtures import closed_port

LABEL = parse_check({"kind": "label", "labels": ["bug", "feature"], "expected": "bug"})
CLASSIFY = CaseSpec("classify-1", "classify", "The export button does nothing.", LABEL,
                    system="Answer with one label.", max_tokens=8)


class TickClock:
    """Each reading is 0.25 s after the previous one (binary-exact arithmetic)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def adapter(kind: str, url: str, timeout_s: float = 5.0):
    return build_adapter(ProviderConfig(key=kind, kind=kind, base_url=url, api_key=None,
                                        timeout_s=timeout_s, max_retries=0))


@pytest.fixture
def ollama(fake_ollama) -> Iterator:
    built = adapter("ollama", fake_ollama.url)
    yield built
    built.close()


@pytest.fixture
def llamacpp(fake_openai) -> Iterator:
    built = adapter("openai_compatible", fake_openai.url)
    yield built
    built.close()


def test_ollama_rate_comes_from_server_statistics_and_the_stream_rate_is_kept(
        ollama, fake_ollama) -> None:
    fake_ollama.enqueue(Reply(text="bug", chunks=["b", "u", "g"], output_tokens=9))
    outcome = Runner(ollama, "llama3.2:3b", clock=TickClock()).run_case(CLASSIFY, 0)
    # Clock readings: start 0.25, deltas 0.5 / 0.75 / 1.0, Done 1.25, end 1.5.
    assert (outcome.passed, outcome.answer, outcome.output_tokens) == (True, "bug", 9)
    assert outcome.server_tps == 50.0  # the fake's eval_count / eval_duration
    assert outcome.prompt_tps == 1000.0
    assert outcome.measured_tps == 16.0  # (9 - 1) tokens / (1.0 - 0.5) s
    assert (outcome.latency_ms, outcome.ttft_ms, outcome.ttfat_ms) == (1250.0, 250.0, 250.0)
    sent = fake_ollama.requests[-1].body
    assert sent["options"]["temperature"] == 0.0 and sent["options"]["num_predict"] == 8
    assert sent["messages"][0] == {"role": "system", "content": "Answer with one label."}


def test_llamacpp_without_usage_is_measured_from_the_deltas(llamacpp, fake_openai) -> None:
    # llama-cpp-python sends no usage in streams: one delta is one token.
    fake_openai.enqueue(Reply(text="bug", chunks=["b", "u", "g"], include_usage=False))
    outcome = Runner(llamacpp, "smollm2", clock=TickClock()).run_case(CLASSIFY, 0)
    assert outcome.server_tps is None and outcome.prompt_tps is None
    assert (outcome.output_tokens, outcome.measured_tps) == (3, 4.0)  # 2 tokens / 0.5 s


def test_reasoning_counts_for_first_token_but_not_for_first_answer_token(
        ollama, fake_ollama) -> None:
    fake_ollama.enqueue(Reply(text="bug", chunks=["bug"], reasoning="hmm, crash",
                              reasoning_chunks=["hmm, ", "crash"], output_tokens=5))
    outcome = Runner(ollama, "qwen3", clock=TickClock()).run_case(CLASSIFY, 0)
    # start 0.25, reasoning 0.5 and 0.75, answer 1.0
    assert (outcome.ttft_ms, outcome.ttfat_ms) == (250.0, 750.0)
    assert (outcome.passed, outcome.think_leaked) == (True, False)


def test_leaked_thinking_is_stripped_counted_and_judged_on_the_answer(
        ollama, fake_ollama) -> None:
    fake_ollama.enqueue(Reply(text="<think>is it a bug?</think>\n\nbug"))
    outcome = Runner(ollama, "deepseek-r1:14b", clock=TickClock()).run_case(CLASSIFY, 0)
    assert (outcome.answer, outcome.think_leaked, outcome.passed) == ("bug", True, True)


def test_leaked_thinking_breaks_json_and_is_reported(ollama, fake_ollama) -> None:
    case = CaseSpec("json-1", "json", "Extract.", parse_check(
        {"kind": "json_schema", "schema": {"type": "object"}}), response="json")
    fake_ollama.enqueue(Reply(text='<think>let me see</think>{"a": 1'))
    outcome = Runner(ollama, "deepseek-r1:14b", clock=TickClock()).run_case(case, 0)
    assert (outcome.think_leaked, outcome.json_requested, outcome.json_valid) == (True, True, False)
    assert (outcome.passed, outcome.reason) == (False, "not strict JSON: '{\"a\": 1'")
    assert fake_ollama.requests[-1].body["format"] == "json"


def test_schema_response_sends_the_checks_schema(llamacpp, fake_openai) -> None:
    schema = {"type": "object", "required": ["a"]}
    case = CaseSpec("json-2", "json", "Extract.",
                    parse_check({"kind": "json_schema", "schema": schema}), response="schema")
    fake_openai.enqueue(Reply(text='{"a": 1}'))
    outcome = Runner(llamacpp, "smollm2", clock=TickClock()).run_case(case, 0)
    assert (outcome.passed, outcome.json_valid) == (True, True)
    assert fake_openai.requests[-1].body["response_format"] == {"type": "json_object",
                                                                "schema": schema}


def test_speed_prompts_vary_per_iteration(ollama, fake_ollama) -> None:
    case = CaseSpec("speed-1", "speed", "Describe {variant}.",
                    parse_check({"kind": "regex", "pattern": r"\w"}), variants=("a", "b"))
    runner = Runner(ollama, "llama3.2:3b", clock=TickClock())
    for iteration in range(3):
        runner.run_case(case, iteration)
    sent = [r.body["messages"][-1]["content"] for r in fake_ollama.requests]
    assert sent == ["Describe a.", "Describe b.", "Describe a."]


def test_an_answer_that_keeps_coming_past_the_case_timeout_is_cut(ollama, fake_ollama) -> None:
    fake_ollama.enqueue(Reply(text="a b c d e f"))
    outcome = Runner(ollama, "slow", timeout_s=0.6, clock=TickClock()).run_case(CLASSIFY, 0)
    # start 0.25; deltas at 0.5, 0.75, then 1.0: 0.75 s after the start, over 0.6 s
    assert (outcome.passed, outcome.error_kind) == (False, "timeout")
    assert outcome.reason == "no complete answer within 0.6 s"
    assert outcome.latency_ms == 1000.0


def test_a_server_that_never_answers_times_out(fake_ollama) -> None:
    fake_ollama.enqueue(Reply(text="bug", delay_s=2.0))
    slow = adapter("ollama", fake_ollama.url, timeout_s=0.2)
    try:
        outcome = Runner(slow, "stuck", timeout_s=0.2).run_case(CLASSIFY, 0)
    finally:
        slow.close()
    assert (outcome.passed, outcome.error_kind) == (False, "timeout")


@pytest.mark.parametrize(("behaviour", "kind"), [
    (HttpError(404, "model 'nope' not found"), "model_not_found"),
    (HttpError(503, "server busy"), "server_error"),
    (MidStreamError(["partial "]), "server_error"),
    (Drop(after_chunks=["par"]), "invalid_response"),
])
def test_provider_errors_become_outcomes(ollama, fake_ollama, behaviour, kind) -> None:
    fake_ollama.enqueue(behaviour)
    outcome = Runner(ollama, "m", clock=TickClock()).run_case(CLASSIFY, 0)
    assert (outcome.passed, outcome.error_kind, outcome.errored) == (False, kind, True)
    assert outcome.reason.startswith("ollama/m: ")


def test_empty_and_truncated_answers_are_marked(ollama, fake_ollama) -> None:
    fake_ollama.enqueue(Reply(text="", chunks=[]), Reply(text="bu", finish_reason="length"))
    runner = Runner(ollama, "m", clock=TickClock())
    empty, truncated = runner.run_case(CLASSIFY, 0), runner.run_case(CLASSIFY, 1)
    assert (empty.empty, empty.passed, empty.reason) == (True, False, "empty answer")
    assert (truncated.truncated, truncated.empty, truncated.passed) == (True, False, False)


def test_a_model_that_errors_on_every_case_is_reported_not_raised() -> None:
    dead = adapter("ollama", f"http://127.0.0.1:{closed_port()}")
    cases = [CaseSpec(f"c{i}", "classify", "x", LABEL) for i in range(4)]
    result = run_model(Runner(dead, "gone", clock=TickClock()), cases, iterations=2)
    assert result.warm_up.error_kind == "unavailable"
    assert [c.error_kind for c in result.calls] == ["unavailable"] * 5 + ["skipped"] * 3
    assert result.calls[-1].reason == "not run: 5 errors in a row before it"
    assert [(c.case_key, c.iteration) for c in result.calls] == [
        ("c0", 0), ("c1", 0), ("c2", 0), ("c3", 0), ("c0", 1), ("c1", 1), ("c2", 1), ("c3", 1)]


def test_warm_up_comes_first_and_is_not_counted(ollama, fake_ollama) -> None:
    fake_ollama.enqueue(Reply(text="ready"), Reply(text="bug"))
    seen = []
    result = run_model(Runner(ollama, "m", clock=TickClock()), [CLASSIFY], 1, seen.append)
    assert (result.warm_up.case_key, result.warm_up.passed) == ("warm-up", True)
    assert [(c.case_key, c.passed) for c in result.calls] == [("classify-1", True)]
    assert seen == result.calls
    assert fake_ollama.requests[0].body["messages"][-1]["content"] == \
        "Reply with the single word: ready"
