"""The runner core: send benchmark cases to one model through its adapter and time them.

Plain Python, no Django: it takes an `Adapter` (llmcontrol.providers) and case
specs, and returns one `CallOutcome` per call. The clock is injectable so that
tests can assert exact timings and rates without sleeping.

How a call is timed (all on this side, with one clock):
- latency: from the request to the end of the stream;
- time to first token: first text or reasoning delta; to first answer token:
  first non-blank answer delta (reasoning and leaked thinking excluded);
- measured generation rate: (tokens - 1) / (last delta - first delta), the
  decode rate between the first and the last token (vLLM's TPOT, inverted); the
  token count is the server's own when it reports usage, else the delta count.
The server's own rate (Ollama's eval_count / eval_duration) is kept beside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from benchmarks.checks import Check, OneOf
from llmcontrol.providers import (
    Adapter,
    ChatRequest,
    Completion,
    Done,
    Message,
    ProviderError,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
)

CORE_CATEGORIES = ("speed", "classify", "json", "instruct")
AGENT_CATEGORIES = ("rca", "design", "quickfix", "schema", "review")
CATEGORIES = CORE_CATEGORIES + AGENT_CATEGORIES
TEMPERATURE = 0.0  # pinned: a benchmark compares models, not sampling luck
SEED = 1234
WARM_UP_PROMPT = "Reply with the single word: ready"
MAX_ANSWER_CHARS = 2000  # of each answer kept for the report
MAX_CONSECUTIVE_ERRORS = 5  # then the model's remaining cases are skipped, not waited for
SKIPPED = "skipped"
Clock = Callable[[], float]


@dataclass(frozen=True)
class CaseSpec:
    key: str
    category: str
    prompt: str  # may hold "{variant}", replaced per iteration from `variants`
    check: Check
    system: str = ""
    max_tokens: int = 256
    response: str = "text"  # text, json (JSON mode) or schema (the check's schema is sent)
    variants: tuple[str, ...] = ()

    def prompt_for(self, iteration: int) -> str:
        """Speed cases vary their prompt per iteration so that no prompt cache flatters them."""
        if not self.variants:
            return self.prompt
        return self.prompt.replace("{variant}", self.variants[iteration % len(self.variants)])

    def request(self, iteration: int) -> ChatRequest:
        schema = getattr(self.check, "schema", None) if self.response == "schema" else None
        return ChatRequest(messages=(Message("user", self.prompt_for(iteration)),),
                           system=self.system or None, max_tokens=self.max_tokens,
                           temperature=TEMPERATURE, seed=SEED,
                           json_mode=self.response == "json", schema=schema)


@dataclass
class CallOutcome:
    case_key: str
    category: str
    iteration: int  # 0-based; -1 for the warm-up
    passed: bool
    reason: str = ""  # why it failed
    error_kind: str = ""  # ErrorKind value, "timeout" for the per-case timeout, or "skipped"
    answer: str = ""
    latency_ms: float | None = None
    ttft_ms: float | None = None
    ttfat_ms: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    measured_tps: float | None = None
    server_tps: float | None = None
    prompt_tps: float | None = None
    think_leaked: bool = False
    json_requested: bool = False
    json_valid: bool | None = None
    finish_reason: str | None = None

    @property
    def errored(self) -> bool:
        return bool(self.error_kind)

    @property
    def empty(self) -> bool:
        return not self.errored and not self.answer.strip()

    @property
    def truncated(self) -> bool:
        return not self.errored and self.finish_reason == "length"


@dataclass
class ModelRun:
    warm_up: CallOutcome
    calls: list[CallOutcome] = field(default_factory=list)


class CaseTimeout(Exception):
    pass


class Runner:
    def __init__(self, adapter: Adapter, model: str, *, timeout_s: float = 60.0,
                 clock: Clock = time.perf_counter) -> None:
        self.adapter, self.model = adapter, model
        self.timeout_s, self.clock = timeout_s, clock

    def warm_up(self) -> CallOutcome:
        """One short call first, not counted: loads the model and opens the connection."""
        case = CaseSpec("warm-up", "warm-up", WARM_UP_PROMPT, OneOf(("ready",)), max_tokens=8)
        return self.run_case(case, -1)

    def run_case(self, case: CaseSpec, iteration: int) -> CallOutcome:
        timeout = self.timeout_s
        started = self.clock()
        deltas: list[float] = []
        first_answer: float | None = None
        completion: Completion | None = None
        events: Iterator[StreamEvent] | None = None
        try:
            events = self.adapter.stream(self.model, case.request(iteration))
            for event in events:
                now = self.clock()
                if isinstance(event, TextDelta | ReasoningDelta) and event.text:
                    deltas.append(now)
                    if first_answer is None and isinstance(event, TextDelta) \
                            and event.text.strip():
                        first_answer = now
                elif isinstance(event, Done):
                    completion = event.completion
                if now - started > timeout:
                    raise CaseTimeout
        except ProviderError as error:
            return self._failed(case, iteration, str(error.kind), str(error), started)
        except CaseTimeout:
            return self._failed(case, iteration, "timeout",
                                f"no complete answer within {timeout:g} s", started)
        finally:
            close = getattr(events, "close", None)  # None when stream() refused at once
            if close is not None:
                close()  # a generator left early closes its HTTP response here
        assert completion is not None, "an adapter stream always ends with Done"
        return self._outcome(case, iteration, completion, started, deltas, first_answer)

    def _outcome(self, case: CaseSpec, iteration: int, completion: Completion, started: float,
                 deltas: list[float], first_answer: float | None) -> CallOutcome:
        ended = self.clock()
        verdict = case.check.evaluate(completion.content)
        reason = verdict.reason
        if not completion.content.strip():
            reason = "empty answer" + (" (hit max_tokens while thinking)"
                                       if completion.finish_reason == "length" else "")
        tokens = completion.usage.output_tokens or len(deltas)
        measured = None
        if tokens > 1 and len(deltas) > 1 and deltas[-1] > deltas[0]:
            measured = (tokens - 1) / (deltas[-1] - deltas[0])
        server = completion.tps_source == "server"
        return CallOutcome(
            case_key=case.key, category=case.category, iteration=iteration,
            passed=verdict.passed and bool(completion.content.strip()), reason=reason,
            answer=completion.content[:MAX_ANSWER_CHARS],
            latency_ms=(ended - started) * 1000,
            ttft_ms=(deltas[0] - started) * 1000 if deltas else None,
            ttfat_ms=(first_answer - started) * 1000 if first_answer is not None else None,
            input_tokens=completion.usage.input_tokens, output_tokens=tokens,
            measured_tps=measured,
            server_tps=completion.generation_tps if server else None,
            prompt_tps=completion.prompt_tps if server else None,
            think_leaked=completion.think_leaked, json_requested=completion.json_requested,
            json_valid=completion.json_valid, finish_reason=completion.finish_reason,
        )

    def _failed(self, case: CaseSpec, iteration: int, kind: str, message: str,
                started: float) -> CallOutcome:
        return CallOutcome(case_key=case.key, category=case.category, iteration=iteration,
                           passed=False, reason=message, error_kind=kind,
                           latency_ms=(self.clock() - started) * 1000,
                           json_requested=case.response != "text")


Progress = Callable[[CallOutcome], None]


def plan(cases: Sequence[CaseSpec], iterations: int) -> Iterator[tuple[CaseSpec, int]]:
    """Iteration-major order: every case once, then every case again, so a slow drift
    of the machine (heat, a neighbour's job) spreads over all cases alike."""
    for iteration in range(iterations):
        for case in cases:
            yield case, iteration


def run_model(runner: Runner, cases: Sequence[CaseSpec], iterations: int,
              progress: Progress | None = None) -> ModelRun:
    """Warm up, then every case `iterations` times. Never raises for a model's failure:
    errors are outcomes. After MAX_CONSECUTIVE_ERRORS errors in a row the remaining
    calls are recorded as skipped (a dead server would otherwise cost a timeout each)."""
    result = ModelRun(warm_up=runner.warm_up())
    streak = 0
    for case, iteration in plan(cases, iterations):
        if streak >= MAX_CONSECUTIVE_ERRORS:
            outcome = CallOutcome(case.key, case.category, iteration, passed=False,
                                  reason=f"not run: {streak} errors in a row before it",
                                  error_kind=SKIPPED, json_requested=case.response != "text")
        else:
            outcome = runner.run_case(case, iteration)
            streak = streak + 1 if outcome.errored else 0
        result.calls.append(outcome)
        if progress is not None:
            progress(outcome)
    return result


def total_calls(cases: Iterable[CaseSpec], iterations: int) -> int:
    return sum(1 for _ in cases) * iterations
