"""One call's plan and bookkeeping, shared by the sync and async paths of LLMClient.

The plan is the decision's model, then (when fallback is allowed) the models of
its fallback chain. Each attempt becomes one MetricRecord; the client only loops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from llmcontrol.client.metrics import CANCELLED, MetricRecord, new_request_id
from llmcontrol.client.results import LLMCallError, LLMResult
from llmcontrol.providers import ChatRequest, Completion, ErrorKind, ProviderError
from llmcontrol.routing import Decision, ModelSpec, ProviderSpec, RoutingSnapshot
from llmcontrol.switches import Switches

# A local model that is down, slow, broken or missing its weights: the cloud answers instead.
LOCAL_FALLBACK_KINDS = frozenset(
    {
        ErrorKind.UNAVAILABLE,
        ErrorKind.TIMEOUT,
        ErrorKind.SERVER_ERROR,
        ErrorKind.INVALID_RESPONSE,
        ErrorKind.MODEL_NOT_FOUND,
    }
)
# A cloud provider that stays down or rate-limited after its retries: the next cloud model.
CLOUD_FAILOVER_KINDS = frozenset(
    {
        ErrorKind.UNAVAILABLE,
        ErrorKind.TIMEOUT,
        ErrorKind.SERVER_ERROR,
        ErrorKind.RATE_LIMITED,
    }
)


@dataclass(frozen=True, slots=True)
class Step:
    index: int
    model: ModelSpec
    provider: ProviderSpec
    routed_to: str


class Call:
    def __init__(
        self,
        decision: Decision,
        snapshot: RoutingSnapshot,
        switches: Switches,
        request: ChatRequest,
        labels: dict[str, str],
        record: Callable[[MetricRecord], None],
        streamed: bool = False,
    ) -> None:
        self.decision = decision
        self.switches = switches
        self.request = request
        self.labels = labels
        self.streamed = streamed
        self.request_id = new_request_id()
        self.errors: list[ProviderError] = []
        self._record = record
        self.steps = self._plan(snapshot)
        self.started = time.perf_counter()

    def _plan(self, snapshot: RoutingSnapshot) -> list[Step]:
        decision = self.decision
        models = [decision.model]
        if not decision.model.is_local or self.switches.ollama_fallback_enabled:
            models += list(decision.fallback)
        steps = []
        for i, model in enumerate(models):
            routed_to = "local" if model.is_local else ("cloud" if i == 0 else "fallback")
            steps.append(Step(i, model, snapshot.providers[model.provider_key], routed_to))
        return steps

    def may_continue(self, step: Step, error: ProviderError) -> bool:
        if step.index + 1 >= len(self.steps):
            return False
        kinds = LOCAL_FALLBACK_KINDS if step.model.is_local else CLOUD_FAILOVER_KINDS
        return error.kind in kinds

    def failed(self, step: Step, error: ProviderError, elapsed_ms: float) -> None:
        self.errors.append(error)
        self._record(
            self._metric(step, success=False, latency_ms=elapsed_ms, error_type=str(error.kind),
                         retries=error.attempts - 1)
        )

    def cancelled(self, step: Step, elapsed_ms: float) -> None:
        """The caller went away mid-attempt: a row of its own, which no gate counts as an
        error (the provider did not fail). Its retries are not known here (the adapter
        was still in its retry loop): the row says 0."""
        self._record(
            self._metric(step, success=False, latency_ms=elapsed_ms, error_type=CANCELLED)
        )

    def succeeded(self, step: Step, completion: Completion) -> LLMResult:
        self._record(
            self._metric(
                step, success=True, latency_ms=completion.duration_ms, completion=completion,
                retries=completion.attempts - 1,
            )
        )
        d = self.decision
        return LLMResult(
            content=completion.content,
            provider=step.provider.key,
            model=step.model.model_key,
            duration_ms=(time.perf_counter() - self.started) * 1000,
            usage=completion.usage,
            local=step.model.is_local,
            fallback=step.index > 0,
            tier=d.tier,
            routed_to=step.routed_to,
            bucket=d.bucket,
            stage=d.stage,
            reason=d.reason,
            request_id=self.request_id,
            ttft_ms=completion.ttft_ms,
            ttfat_ms=completion.ttfat_ms,
            finish_reason=completion.finish_reason,
            reasoning=completion.reasoning,
            think_leaked=completion.think_leaked,
            json_requested=completion.json_requested,
            json_valid=completion.json_valid,
            generation_tps=completion.generation_tps,
            tps_source=completion.tps_source,
            attempts=len(self.errors) + 1,
            retries=self._retries() + completion.attempts - 1,
            errors=[str(e) for e in self.errors],
        )

    def error(self, *, partial: bool = False) -> LLMCallError:
        last = self.errors[-1] if self.errors else None
        tried = ", ".join(
            f"{s.provider.key}/{s.model.model_key}" for s in self.steps[: len(self.errors)]
        )
        message = f"LLM call failed (tier {self.decision.tier}; tried {tried}): {last}"
        if partial:
            message += " (the stream had already sent text, so no fallback was attempted)"
        return LLMCallError(
            message,
            last=last,
            request_id=self.request_id,
            tier=self.decision.tier,
            attempts=len(self.errors),
            retries=self._retries(),
            partial=partial,
        )

    def _retries(self) -> int:
        """Provider retries of the failed attempts so far."""
        return sum(e.attempts - 1 for e in self.errors)

    def _metric(
        self,
        step: Step,
        *,
        success: bool,
        latency_ms: float,
        error_type: str = "",
        completion: Completion | None = None,
        retries: int = 0,
    ) -> MetricRecord:
        d = self.decision
        c = completion
        return MetricRecord(
            request_id=self.request_id,
            attempt=step.index,
            tier=d.tier,
            provider=step.provider.key,
            model=step.model.model_key,
            routed_to=step.routed_to,
            bucket=d.bucket,
            stage=d.stage,
            success=success,
            latency_ms=latency_ms,
            error_type=error_type,
            ttft_ms=c.ttft_ms if c else None,
            input_tokens=c.usage.input_tokens if c else 0,
            output_tokens=c.usage.output_tokens if c else 0,
            json_requested=self.request.json_mode or self.request.schema is not None,
            json_valid=c.json_valid if c else None,
            think_leaked=c.think_leaked if c else False,
            empty_answer=bool(c and not c.content.strip()),
            finish_reason=(c.finish_reason or "") if c else "",
            streamed=self.streamed,
            retries=retries,
            **self.labels,
        )
