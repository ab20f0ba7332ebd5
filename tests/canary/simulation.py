"""Simulated canary stages, one gate evaluation a minute, on aggregate counts.

Each look costs O(1) in traffic: Bernoulli counts are drawn as binomials, and
latencies are drawn as uniforms u with latency = F^-1(u), F the log-normal CDF.
Order statistics commute with F^-1, so comparing uniforms is comparing
latencies. Only the top 15% of baseline uniforms are kept: the p95 and its upper
bound are always among them (checked), and the values above a cut are exactly
uniform on (cut, 1).

Run `python -m tests.canary.simulation` for the table in docs/canary.md.
"""

from __future__ import annotations

import math
import random
import statistics
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from statistics import NormalDist
from typing import Any

from canary.gates import (
    ArmCounts,
    GateSettings,
    Verdict,
    evaluate,
    latency_threshold_ms,
    p95_upper_rank,
)

CANDIDATE_PER_MINUTE = 50  # a 5% stage of a tier serving 1,000 requests a minute
BASELINE_PER_MINUTE = 950
MEDIAN_LATENCY_MS = 800.0
LATENCY_SIGMA = 0.5  # log-normal shape: p95 = 2.3 x median, typical of LLM calls
_BASELINE_TAIL = 0.85  # keep baseline uniforms above this
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Profile:
    """True rates of one arm. Quality rates are among successful answers."""

    error_rate: float = 0.02
    json_share: float = 0.3
    json_invalid_rate: float = 0.01
    think_leak_rate: float = 0.001
    empty_or_truncated_rate: float = 0.01
    latency_scale: float = 1.0  # multiplies every latency


HEALTHY = Profile()


@dataclass
class Outcome:
    """Candidate requests seen at the first FAIL and the first PASS (None: never)."""

    fail_at: int | None = None
    pass_at: int | None = None
    failed_gates: tuple[str, ...] = ()


@dataclass
class _Arm:
    profile: Profile
    requests: int = 0
    errors: int = 0
    json_requested: int = 0
    json_invalid: int = 0
    think_leaks: int = 0
    empty_or_truncated: int = 0
    uniforms: list[float] = field(default_factory=list)  # sorted latency uniforms

    def add(self, rng: random.Random, requests: int, *, baseline: bool) -> None:
        p = self.profile
        errors = binomial(rng, requests, p.error_rate)
        answers = requests - errors
        self.requests += requests
        self.errors += errors
        # The baseline's quality counts are evidence only, never judged: not drawn.
        if not baseline:
            json_requested = binomial(rng, answers, p.json_share)
            self.json_requested += json_requested
            self.json_invalid += binomial(rng, json_requested, p.json_invalid_rate)
            self.think_leaks += binomial(rng, answers, p.think_leak_rate)
            self.empty_or_truncated += binomial(rng, answers, p.empty_or_truncated_rate)
        kept = binomial(rng, answers, 1.0 - _BASELINE_TAIL) if baseline else answers
        low = _BASELINE_TAIL if baseline else 0.0
        self.uniforms.extend(low + (1.0 - low) * rng.random() for _ in range(kept))
        self.uniforms.sort()  # a sorted run plus a short tail: linear for timsort

    def uniform_at_rank(self, rank: int) -> float:
        """The rank-th smallest uniform (1-based) among all successes, kept or not."""
        from_top = self.requests - self.errors - rank  # 0 for the largest
        assert from_top < len(self.uniforms), "rank fell below the kept tail"
        return self.uniforms[len(self.uniforms) - 1 - from_top]

    def latency(self, uniform: float) -> float:
        z = _NORMAL.inv_cdf(uniform)
        return self.profile.latency_scale * MEDIAN_LATENCY_MS * math.exp(LATENCY_SIGMA * z)

    def counts(self, settings: GateSettings, slow_above_ms: float | None = None) -> ArmCounts:
        successes = self.requests - self.errors
        p95 = upper = slow = None
        if successes:
            p95 = self.latency(self.uniform_at_rank(
                math.ceil(settings.latency_quantile * successes)))
        rank = p95_upper_rank(successes, settings) if slow_above_ms is None else None
        if rank is not None:  # only the baseline's upper bound is ever used
            upper = self.latency(self.uniform_at_rank(rank))
        if slow_above_ms is not None:
            scaled = slow_above_ms / (self.profile.latency_scale * MEDIAN_LATENCY_MS)
            cut = _NORMAL.cdf(math.log(scaled) / LATENCY_SIGMA)
            slow = successes - bisect_right(self.uniforms, cut)
        return ArmCounts(
            self.requests, self.errors, self.json_requested, self.json_invalid,
            self.think_leaks, self.empty_or_truncated, p95, upper, slow)


def binomial(rng: random.Random, n: int, p: float) -> int:
    """Exact Binomial(n, p) draw in O(n * min(p, 1 - p)): geometric gaps between hits."""
    if p <= 0.0 or n == 0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - binomial(rng, n, 1.0 - p)
    log_q, hits, position = math.log1p(-p), 0, 0
    while True:
        position += int(math.log(1.0 - rng.random()) / log_q) + 1
        if position > n:
            return hits
        hits += 1


def run_stage(rng: random.Random, candidate: Profile, baseline: Profile = HEALTHY, *,
              looks: int = 20, settings: GateSettings | None = None,
              stop_at_pass: bool = False, candidate_per_minute: int = CANDIDATE_PER_MINUTE,
              baseline_per_minute: int = BASELINE_PER_MINUTE) -> Outcome:
    """One stage: traffic for a minute, then a look at the gates, `looks` times.

    Stops at the first FAIL (the rollout is rolled back); keeps looking after a PASS
    unless told otherwise, since a later FAIL still rolls back.
    """
    settings = settings or GateSettings()
    local, cloud = _Arm(candidate), _Arm(baseline)
    outcome = Outcome()
    for _ in range(looks):
        local.add(rng, candidate_per_minute, baseline=False)
        cloud.add(rng, baseline_per_minute, baseline=True)
        baseline_counts = cloud.counts(settings)
        threshold = latency_threshold_ms(baseline_counts, settings)
        evaluation = evaluate(local.counts(settings, threshold), baseline_counts, settings)
        if evaluation.verdict is Verdict.FAIL:
            outcome.fail_at = local.requests
            outcome.failed_gates = tuple(
                g.gate for g in evaluation.gates if g.verdict is Verdict.FAIL)
            return outcome
        if evaluation.verdict is Verdict.PASS and outcome.pass_at is None:
            outcome.pass_at = local.requests
            if stop_at_pass:
                return outcome
    return outcome


@dataclass(frozen=True)
class Summary:
    runs: int
    fail_at: list[int]  # candidate requests at each run's FAIL, sorted; runs without one left out
    pass_at: list[int]  # the same for the first PASS
    gates_failed: dict[str, int]  # runs in which each gate was among the failing ones

    @property
    def fail_rate(self) -> float:
        return len(self.fail_at) / self.runs

    @property
    def pass_rate(self) -> float:
        return len(self.pass_at) / self.runs

    def failed_within(self, requests: int) -> float:
        return bisect_right(self.fail_at, requests) / self.runs

    def passed_within(self, requests: int) -> float:
        return bisect_right(self.pass_at, requests) / self.runs

    @property
    def median_fail_at(self) -> float | None:
        return statistics.median(self.fail_at) if self.fail_at else None

    @property
    def median_pass_at(self) -> float | None:
        return statistics.median(self.pass_at) if self.pass_at else None

    @property
    def pass_at_90(self) -> int | None:
        """Candidate requests by which 90% of runs had passed."""
        needed = math.ceil(0.9 * self.runs)
        return self.pass_at[needed - 1] if len(self.pass_at) >= needed else None

    def describe(self) -> str:
        return (f"FAIL in {self.fail_rate:.1%} of {self.runs} runs ({self.failed_within(200):.1%}"
                f" within 200 candidate requests, median {self.median_fail_at}), by gate "
                f"{self.gates_failed}; PASS in {self.pass_rate:.1%}, median "
                f"{self.median_pass_at}, 90% by {self.pass_at_90}")


def simulate(candidate: Profile, baseline: Profile = HEALTHY, *, runs: int = 1000,
             seed: int = 20_240_601, **stage: Any) -> Summary:
    rng = random.Random(seed)
    outcomes = [run_stage(rng, candidate, baseline, **stage) for _ in range(runs)]
    gates: dict[str, int] = {}
    for outcome in outcomes:
        for gate in outcome.failed_gates:
            gates[gate] = gates.get(gate, 0) + 1
    return Summary(
        runs=runs,
        fail_at=sorted(o.fail_at for o in outcomes if o.fail_at is not None),
        pass_at=sorted(o.pass_at for o in outcomes if o.pass_at is not None),
        gates_failed=gates,
    )


# name -> (candidate profile, stage options). The baseline is always HEALTHY.
SCENARIOS: dict[str, tuple[Profile, dict[str, Any]]] = {
    "healthy: both arms alike (2% errors, same latency)": (HEALTHY, {}),
    "error rate 4% = baseline 2% + margin (edge of healthy)": (
        replace(HEALTHY, error_rate=0.04), {}),
    "latency exactly 2x (edge of healthy)": (replace(HEALTHY, latency_scale=2.0), {}),
    "JSON-invalid exactly 5% (edge of healthy)": (replace(HEALTHY, json_invalid_rate=0.05), {}),
    "error rate 15%": (replace(HEALTHY, error_rate=0.15), {}),
    "error rate 6%": (replace(HEALTHY, error_rate=0.06), {}),
    "latency 3x slower": (replace(HEALTHY, latency_scale=3.0), {}),
    "latency 2.5x slower": (replace(HEALTHY, latency_scale=2.5), {}),
    "JSON-invalid 25% (JSON asked in 50%)": (
        replace(HEALTHY, json_share=0.5, json_invalid_rate=0.25), {}),
    "healthy, looked at until PASS (up to 120 looks)": (
        HEALTHY, {"looks": 120, "stop_at_pass": True}),
    "25% stage (250 + 750 a minute): healthy, until PASS": (
        HEALTHY, {"looks": 60, "stop_at_pass": True, "candidate_per_minute": 250,
                  "baseline_per_minute": 750}),
    "60 + 300 a minute: healthy": (
        HEALTHY, {"candidate_per_minute": 60, "baseline_per_minute": 300}),
    "60 + 300 a minute: error rate 15%": (
        replace(HEALTHY, error_rate=0.15),
        {"candidate_per_minute": 60, "baseline_per_minute": 300}),
    "60 + 300 a minute: latency 3x slower": (
        replace(HEALTHY, latency_scale=3.0),
        {"candidate_per_minute": 60, "baseline_per_minute": 300}),
}


def markdown_table() -> str:
    rows = ["| scenario (20 looks unless said) | runs with a FAIL | FAIL within 200 "
            "| median requests to FAIL | runs with a PASS | median requests to PASS "
            "| 90% passed by |", "|---|---|---|---|---|---|---|"]
    for name, (profile, stage) in SCENARIOS.items():
        r = simulate(profile, **stage)
        rows.append(f"| {name} | {r.fail_rate:.1%} | {r.failed_within(200):.1%} "
                    f"| {_number(r.median_fail_at)} | {r.pass_rate:.1%} "
                    f"| {_number(r.median_pass_at)} | {_number(r.pass_at_90)} |")
    return "\n".join(rows)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


if __name__ == "__main__":
    print(markdown_table())
