"""Statistical rollout gates: PASS (advance), FAIL (roll back) or INCONCLUSIVE (hold).

Pure Python, no Django. The database layer computes aggregates, counted from the
start of the stage (never a sliding window), and calls in this order:

    rank = p95_upper_rank(baseline.successes, settings)  # fetch that order statistic
    threshold = latency_threshold_ms(baseline, settings)  # count candidate successes above
    evaluation = evaluate(candidate, baseline, settings)

Every bound is an anytime-valid one-sided confidence sequence (canary.stats), so
looking every minute for as long as a stage lasts keeps P(false rollback) <= alpha.
The method, its parameters and the simulation figures: docs/canary.md.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from canary.stats import Prior, lower_bound, upper_bound, upper_quantile_rank


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


# How alpha is split among the bounds a verdict can rest on (Bonferroni: a false
# verdict needs at least one of them to miss, so the shares add up to alpha).
# The candidate's error rate gets the largest share because it must react fastest.
# The same split is spent once on the FAIL side and once on the PASS side.
ALPHA_SHARES: Mapping[str, float] = MappingProxyType({
    "candidate_error_rate": 0.30,
    "baseline_error_rate": 0.10,
    "baseline_latency_quantile": 0.10,
    "candidate_slow_rate": 0.20,
    "json_invalid_rate": 0.10,
    "think_leak_rate": 0.10,
    "empty_or_truncated_rate": 0.10,
})


@dataclass(frozen=True)
class GateSettings:
    error_rate_ceiling: float = 0.05  # candidate error rate must stay at or below this
    error_rate_margin: float = 0.02  # ... and at most this much above the baseline's (absolute)
    latency_multiplier: float = 2.0  # candidate p95 <= multiplier x baseline p95
    latency_quantile: float = 0.95  # the "p95"
    json_invalid_ceiling: float = 0.05  # among successful answers that asked for JSON
    think_leak_ceiling: float = 0.01  # among successful answers
    empty_or_truncated_ceiling: float = 0.05  # among successful answers
    min_samples: int = 50  # per arm, before anything but a hard failure
    alpha: float = 0.05  # P(any false FAIL during a stage); also P(any false PASS)
    prior_strength: float = 20.0  # a + b of each Beta mixing prior; see canary.stats.Prior

    def __post_init__(self) -> None:
        for name in ("error_rate_ceiling", "latency_quantile", "json_invalid_ceiling",
                     "think_leak_ceiling", "empty_or_truncated_ceiling", "alpha"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must lie strictly between 0 and 1")
        if not 0.0 <= self.error_rate_margin < 1.0:
            raise ValueError("error_rate_margin must lie in [0, 1)")
        if self.latency_multiplier <= 0.0 or self.min_samples < 0 or self.prior_strength <= 0:
            raise ValueError("latency_multiplier and prior_strength must be positive, "
                             "min_samples non-negative")

    def alpha_for(self, sequence: str) -> float:
        return self.alpha * ALPHA_SHARES[sequence]

    def prior(self, mean: float) -> Prior:
        # Centred on the threshold the bound is compared with: tightest where it matters.
        return Prior(mean, self.prior_strength)


@dataclass(frozen=True)
class ArmCounts:
    """One arm's aggregates over the stage so far (the SQL side computes these).

    Quality counts are among successful answers: a failed call has no answer to judge.
    """

    requests: int
    errors: int
    json_requested: int = 0  # successful answers to requests that asked for JSON
    json_invalid: int = 0  # ... of which did not parse
    think_leaks: int = 0  # successful answers with leaked thinking
    empty_or_truncated: int = 0  # successful answers empty or finish_reason = "length"
    p95_latency_ms: float | None = None  # of successes, nearest rank (percentile_disc); evidence
    # Baseline only: latency of successes at rank p95_upper_rank(successes) (ascending, 1-based).
    p95_upper_latency_ms: float | None = None
    # Candidate only: successes with latency > latency_threshold_ms(baseline).
    slow_successes: int | None = None
    # Errors that were timeouts (already in `errors`). The latency gate counts each as a
    # slow request: an answer that never came in time is the slowest kind.
    timeouts: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.errors <= self.requests:
            raise ValueError("need 0 <= errors <= requests")
        if not 0 <= self.timeouts <= self.errors:
            raise ValueError("need 0 <= timeouts <= errors")
        for name in ("json_requested", "think_leaks", "empty_or_truncated", "slow_successes"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= self.successes:
                raise ValueError(f"need 0 <= {name} <= successes")
        if not 0 <= self.json_invalid <= self.json_requested:
            raise ValueError("need 0 <= json_invalid <= json_requested")

    @property
    def successes(self) -> int:
        return self.requests - self.errors


@dataclass(frozen=True)
class GateResult:
    gate: str
    verdict: Verdict
    sentence: str  # one line for humans
    observed: float | None  # point estimate of the judged quantity
    lower: float | None  # its anytime-valid lower bound (a FAIL rests on this one)
    upper: float | None  # its anytime-valid upper bound (a PASS rests on this one)
    threshold: float | None
    hard_failure: bool = False  # FAIL before min_samples: evidence already overwhelming
    evidence: dict[str, Any] = field(default_factory=dict)  # per-arm counts, rates, p95s

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": str(self.verdict)}


@dataclass(frozen=True)
class Evaluation:
    verdict: Verdict
    gates: list[GateResult]
    summary: str
    settings: GateSettings

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": str(self.verdict),
            "summary": self.summary,
            "gates": [gate.to_dict() for gate in self.gates],
            "settings": asdict(self.settings),
            "alpha_shares": dict(ALPHA_SHARES),
        }


def overall_verdict(verdicts: Iterable[Verdict]) -> Verdict:
    """Any FAIL fails; else any INCONCLUSIVE holds; else (also with no gates) PASS."""
    found = set(verdicts)
    for verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE):
        if verdict in found:
            return verdict
    return Verdict.PASS


def p95_upper_rank(successes: int, settings: GateSettings) -> int | None:
    """Rank (1-based, ascending latency among the baseline's successes) to fetch as
    ArmCounts.p95_upper_latency_ms: an upper bound of the baseline p95 valid at every
    look. In SQL: ORDER BY latency_ms OFFSET rank - 1 LIMIT 1. None: too few successes."""
    quantile = settings.latency_quantile
    alpha = settings.alpha_for("baseline_latency_quantile")
    return upper_quantile_rank(successes, quantile, alpha, settings.prior(quantile))


def latency_threshold_ms(baseline: ArmCounts, settings: GateSettings) -> float | None:
    """multiplier x (upper bound of the baseline p95): the SQL side counts the
    candidate's successes slower than this as ArmCounts.slow_successes."""
    # Both: an upper latency fetched for too few successes would not bound anything.
    rank = p95_upper_rank(baseline.successes, settings)
    if rank is None or baseline.p95_upper_latency_ms is None:
        return None
    return settings.latency_multiplier * baseline.p95_upper_latency_ms


def evaluate(candidate: ArmCounts, baseline: ArmCounts, settings: GateSettings | None = None,
             ) -> Evaluation:
    settings = settings or GateSettings()
    gates = [
        error_rate_gate(candidate, baseline, settings),
        error_regression_gate(candidate, baseline, settings),
        latency_gate(candidate, baseline, settings),
        *quality_gates(candidate, baseline, settings),
    ]
    verdict = overall_verdict(gate.verdict for gate in gates)
    return Evaluation(verdict, gates, _summary(verdict, gates, candidate, baseline), settings)


def error_rate_gate(candidate: ArmCounts, baseline: ArmCounts, settings: GateSettings,
                    ) -> GateResult:
    return _ceiling_gate("error_rate", "error rate", candidate.errors, candidate.requests,
                         settings.error_rate_ceiling, "candidate_error_rate", settings,
                         _arms(candidate, baseline, "errors", "requests"))


def error_regression_gate(candidate: ArmCounts, baseline: ArmCounts, settings: GateSettings,
                          ) -> GateResult:
    """Candidate error rate minus baseline error rate against a margin (percentage points).

    Bounds of the difference combine the arms' own bounds: [L_c - U_b, U_c - L_b].
    """
    share_c, share_b = "candidate_error_rate", "baseline_error_rate"
    prior = settings.prior(settings.error_rate_ceiling)
    alpha_c, alpha_b = settings.alpha_for(share_c), settings.alpha_for(share_b)
    n_c, n_b = candidate.requests, baseline.requests
    lower = lower_bound(candidate.errors, n_c, alpha_c, prior) - upper_bound(
        baseline.errors, n_b, alpha_b, prior)
    upper = upper_bound(candidate.errors, n_c, alpha_c, prior) - lower_bound(
        baseline.errors, n_b, alpha_b, prior)
    margin = settings.error_rate_margin
    verdict, hard = _decide(lower, upper, margin, min(n_c, n_b) >= settings.min_samples)
    observed = None if not (n_c and n_b) else candidate.errors / n_c - baseline.errors / n_b
    sentence = (
        f"error rate {_rate(candidate.errors, n_c)} vs baseline {_rate(baseline.errors, n_b)}: "
        f"difference {_pp(observed)} ({_bounds_text(verdict, lower, upper, _pp)}) "
        f"vs margin +{margin * 100:g} pp: {_verdict_text(verdict, hard)}, "
        f"{_samples_text(n_c, settings, n_b)}"
    )
    evidence = _arms(candidate, baseline, "errors", "requests") | {
        "alpha": alpha_c + alpha_b, "min_samples": settings.min_samples}
    return GateResult("error_rate_vs_baseline", verdict, sentence, observed, lower, upper,
                      margin, hard, evidence)


def latency_gate(candidate: ArmCounts, baseline: ArmCounts, settings: GateSettings,
                 ) -> GateResult:
    """p95 against multiplier x baseline p95, judged as the share of candidate requests
    slower than latency_threshold_ms(baseline) against 1 - quantile.

    The candidate's requests here are its successes and its timeouts, and a timeout
    counts as slow: otherwise a model that times out on its slow answers would drop
    exactly those from the sample and look fast. (The error gates count timeouts too.)
    """
    share = 1.0 - settings.latency_quantile
    threshold_ms = latency_threshold_ms(baseline, settings)
    timeouts = candidate.timeouts
    n = candidate.successes + timeouts
    evidence: dict[str, Any] = {
        "candidate": {"successes": candidate.successes, "timeouts": timeouts,
                      "p95_latency_ms": candidate.p95_latency_ms,
                      "slow_successes": candidate.slow_successes},
        # The baseline's p95 bound is read from its successes: its timeouts are shown only.
        "baseline": {"successes": baseline.successes, "timeouts": baseline.timeouts,
                     "p95_latency_ms": baseline.p95_latency_ms,
                     "p95_upper_latency_ms": baseline.p95_upper_latency_ms},
        "threshold_ms": threshold_ms, "multiplier": settings.latency_multiplier,
        "alpha": settings.alpha_for("candidate_slow_rate")
        + settings.alpha_for("baseline_latency_quantile"),
        "min_samples": settings.min_samples,
    }
    head = (f"p95 latency {_ms(candidate.p95_latency_ms)} vs {settings.latency_multiplier:g}x"
            f" baseline p95 {_ms(baseline.p95_latency_ms)}")
    if threshold_ms is None:
        sentence = (f"{head}: INCONCLUSIVE, baseline p95 not yet bounded "
                    f"({baseline.successes} baseline successes)")
        return GateResult("latency_p95", Verdict.INCONCLUSIVE, sentence, None, None, None,
                          share, False, evidence)
    if candidate.slow_successes is None:
        raise ValueError("candidate.slow_successes is required once the baseline has a "
                         "latency threshold; count successes slower than latency_threshold_ms()")
    alpha = settings.alpha_for("candidate_slow_rate")
    prior = settings.prior(share)
    slow = candidate.slow_successes + timeouts
    lower = lower_bound(slow, n, alpha, prior)
    upper = upper_bound(slow, n, alpha, prior)
    enough = min(n, baseline.successes) >= settings.min_samples
    verdict, hard = _decide(lower, upper, share, enough)
    observed = slow / n if n else None
    bounds = _bounds_text(verdict, lower, upper, _percent)
    slower = (f"slower than {_ms(threshold_ms)} or timed out ({timeouts} timeouts; {bounds})"
              if timeouts else f"slower than {_ms(threshold_ms)} ({bounds})")
    sentence = (
        f"{head} (bound {_ms(baseline.p95_upper_latency_ms)}): "
        f"{_percent(observed)} {slower} vs {_limit(share)}: "
        f"{_verdict_text(verdict, hard)}, {_samples_text(n, settings, baseline.successes)}"
    )
    return GateResult("latency_p95", verdict, sentence, observed, lower, upper, share, hard,
                      evidence)


def quality_gates(candidate: ArmCounts, baseline: ArmCounts, settings: GateSettings,
                  ) -> list[GateResult]:
    results: list[GateResult] = []
    if candidate.json_requested == 0:
        # Nothing asked for JSON: nothing to judge, and no reason to hold a tier
        # that never uses it. A single JSON answer makes the gate count again.
        results.append(GateResult(
            "json_invalid", Verdict.PASS, "JSON-invalid rate: no request asked for JSON: PASS",
            None, None, None, settings.json_invalid_ceiling, evidence=_arms(
                candidate, baseline, "json_invalid", "json_requested") | {"applicable": False}))
    else:
        results.append(_ceiling_gate(
            "json_invalid", "JSON-invalid rate", candidate.json_invalid,
            candidate.json_requested, settings.json_invalid_ceiling, "json_invalid_rate",
            settings, _arms(candidate, baseline, "json_invalid", "json_requested")))
    for gate, label, name, ceiling in (
        ("think_leak", "think-leak rate", "think_leaks", settings.think_leak_ceiling),
        ("empty_or_truncated", "empty-or-truncated rate", "empty_or_truncated",
         settings.empty_or_truncated_ceiling),
    ):
        results.append(_ceiling_gate(
            gate, label, getattr(candidate, name), candidate.successes, ceiling,
            f"{gate}_rate", settings, _arms(candidate, baseline, name, "successes")))
    return results


# -- raw samples: the reference for the SQL side, used by simulations and tests --

@dataclass(frozen=True)
class Sample:
    """One raw attempt, for building ArmCounts in memory (simulations, small tests)."""

    success: bool
    latency_ms: float  # a timeout's: how long it waited
    json_requested: bool = False
    json_valid: bool | None = None
    think_leaked: bool = False
    empty_or_truncated: bool = False
    timed_out: bool = False  # a failure that was a timeout (success False)


def arm_counts(samples: Sequence[Sample], settings: GateSettings,
               slow_above_ms: float | None = None) -> ArmCounts:
    """What the SQL side computes, from raw samples: the reference for its queries."""
    answers = [s for s in samples if s.success]
    latencies = sorted(s.latency_ms for s in answers)
    n = len(latencies)
    rank = p95_upper_rank(n, settings)
    return ArmCounts(
        requests=len(samples),
        errors=len(samples) - n,
        json_requested=sum(s.json_requested for s in answers),
        json_invalid=sum(s.json_requested and s.json_valid is False for s in answers),
        think_leaks=sum(s.think_leaked for s in answers),
        empty_or_truncated=sum(s.empty_or_truncated for s in answers),
        # Nearest rank, like PostgreSQL's percentile_disc.
        p95_latency_ms=latencies[math.ceil(settings.latency_quantile * n) - 1] if n else None,
        p95_upper_latency_ms=latencies[rank - 1] if rank else None,
        slow_successes=(
            None if slow_above_ms is None else n - bisect_right(latencies, slow_above_ms)),
        timeouts=sum(s.timed_out and not s.success for s in samples),
    )


def evaluate_samples(candidate: Sequence[Sample], baseline: Sequence[Sample],
                     settings: GateSettings | None = None) -> Evaluation:
    """The database layer's sequence of calls, on raw samples."""
    settings = settings or GateSettings()
    baseline_counts = arm_counts(baseline, settings)
    threshold = latency_threshold_ms(baseline_counts, settings)
    return evaluate(arm_counts(candidate, settings, threshold), baseline_counts, settings)


# -- helpers ---------------------------------------------------------------------

def _ceiling_gate(gate: str, label: str, count: int, total: int, ceiling: float, share: str,
                  settings: GateSettings, evidence: dict[str, Any]) -> GateResult:
    alpha, prior = settings.alpha_for(share), settings.prior(ceiling)
    lower = lower_bound(count, total, alpha, prior)
    upper = upper_bound(count, total, alpha, prior)
    verdict, hard = _decide(lower, upper, ceiling, total >= settings.min_samples)
    observed = count / total if total else None
    sentence = (f"{label} {_percent(observed)} ({_bounds_text(verdict, lower, upper, _percent)})"
                f" vs ceiling {_limit(ceiling)}: {_verdict_text(verdict, hard)}, "
                f"{_samples_text(total, settings)}")
    evidence = evidence | {"alpha": alpha, "min_samples": settings.min_samples}
    return GateResult(gate, verdict, sentence, observed, lower, upper, ceiling, hard, evidence)


def _decide(lower: float, upper: float, threshold: float, enough: bool) -> tuple[Verdict, bool]:
    """FAIL as soon as the bounds exclude the threshold from below, whatever the sample
    size (the bounds are valid at every n); PASS only once there are enough samples."""
    if lower > threshold:
        return Verdict.FAIL, not enough
    if enough and upper <= threshold:
        return Verdict.PASS, False
    return Verdict.INCONCLUSIVE, False


def _arms(candidate: ArmCounts, baseline: ArmCounts, count: str, total: str) -> dict[str, Any]:
    def arm(counts: ArmCounts) -> dict[str, Any]:
        n, k = getattr(counts, total), getattr(counts, count)
        return {total: n, count: k, "rate": k / n if n else None}

    return {"candidate": arm(candidate), "baseline": arm(baseline)}


def _summary(verdict: Verdict, gates: Sequence[GateResult], candidate: ArmCounts,
             baseline: ArmCounts) -> str:
    if verdict is Verdict.PASS:
        return (f"PASS: all {len(gates)} gates pass ({candidate.requests} candidate, "
                f"{baseline.requests} baseline requests)")
    if verdict is Verdict.FAIL:
        return "FAIL: " + "; ".join(g.sentence for g in gates if g.verdict is Verdict.FAIL)
    waiting = [g.gate for g in gates if g.verdict is Verdict.INCONCLUSIVE]
    passed = len(gates) - len(waiting)
    return (f"INCONCLUSIVE: waiting on {', '.join(waiting)} "
            f"({passed} of {len(gates)} gates pass)")


def _percent(value: float | None) -> str:
    if value is None:
        return "n/a"
    # Two decimals below 1%, so a think-leak rate of 0.25% does not read as 0.3%.
    return f"{value * 100:.2f}%" if 0 < abs(value) < 0.01 else f"{value * 100:.1f}%"


def _limit(value: float) -> str:
    return f"{value * 100:g}%"


def _pp(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.1f} pp"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


def _rate(count: int, total: int) -> str:
    return _percent(count / total if total else None)


def _bounds_text(verdict: Verdict, lower: float, upper: float,
                 show: Callable[[float | None], str]) -> str:
    if verdict is Verdict.PASS:
        return f"upper bound {show(upper)}"
    if verdict is Verdict.FAIL:
        return f"lower bound {show(lower)}"
    return f"bounds {show(lower)} to {show(upper)}"


def _verdict_text(verdict: Verdict, hard: bool) -> str:
    return "FAIL (hard failure)" if hard else verdict.name


def _samples_text(n: int, settings: GateSettings, baseline_n: int | None = None) -> str:
    if baseline_n is None:
        text, fewest, need = f"{n} samples", n, f"needs {settings.min_samples}"
    else:
        text, fewest = f"{n} vs {baseline_n} samples", min(n, baseline_n)
        need = f"needs {settings.min_samples} per arm"
    return text if fewest >= settings.min_samples else f"{text} ({need})"
