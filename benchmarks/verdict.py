"""May this model take a tier? Figures against a tier's thresholds. Plain Python, no Django.

A verdict is one of:
- eligible: every threshold met;
- not_eligible: at least one threshold missed (each miss is a reason);
- incomplete: nothing missed, but a category the tier requires was not run;
- never_local: the tier is opus and the model is local (the product's hard rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from benchmarks.figures import Figures
from benchmarks.runner import CATEGORIES


class Status(StrEnum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    INCOMPLETE = "incomplete"
    NEVER_LOCAL = "never_local"


@dataclass(frozen=True)
class Thresholds:
    tier: str
    category_minimums: dict[str, float] = field(default_factory=dict)  # category -> min pass %
    min_json_valid_pct: float | None = None
    max_think_leak_pct: float | None = None
    max_error_pct: float | None = None
    max_empty_or_truncated_pct: float | None = None
    p95_latency_budget_ms: float | None = None
    min_generation_tps: float | None = None


@dataclass(frozen=True)
class Verdict:
    tier: str
    status: Status
    reasons: tuple[str, ...] = ()

    def summary(self) -> str:
        label = {Status.ELIGIBLE: f"eligible for {self.tier}",
                 Status.NOT_ELIGIBLE: f"not eligible for {self.tier}",
                 Status.INCOMPLETE: f"incomplete for {self.tier}",
                 Status.NEVER_LOCAL: f"{self.tier} is never local"}[self.status]
        return f"{label}: {'; '.join(self.reasons)}" if self.reasons else label


def judge(figures: Figures, thresholds: Thresholds, *, is_local: bool) -> Verdict:
    tier = thresholds.tier
    if tier == "opus" and is_local:
        return Verdict(tier, Status.NEVER_LOCAL)
    missed: list[str] = []
    missing: list[str] = []
    minimums = thresholds.category_minimums
    for category in sorted(minimums, key=lambda c: CATEGORIES.index(c) if c in CATEGORIES else 99):
        minimum = minimums[category]
        got = figures.pass_rates.get(category)
        if got is None:
            missing.append(f"{category} not run")
        elif got < minimum:
            missed.append(f"{category} {number(got)}% < {minimum:g}%")
    _at_least(missed, "JSON valid", figures.json_valid_pct, thresholds.min_json_valid_pct, "%")
    _at_most(missed, "think leaks", figures.think_leak_pct, thresholds.max_think_leak_pct, "%")
    error_pct = 100.0 * figures.errors / figures.calls if figures.calls else None
    _at_most(missed, "errors", error_pct, thresholds.max_error_pct, "%")
    _at_most(missed, "empty/truncated", figures.empty_or_truncated_pct,
             thresholds.max_empty_or_truncated_pct, "%")
    _at_most(missed, "p95 latency", figures.latency_p95_ms, thresholds.p95_latency_budget_ms,
             " ms")
    _at_least(missed, "generation", figures.generation_tps, thresholds.min_generation_tps,
              " tok/s")
    if missed:
        return Verdict(tier, Status.NOT_ELIGIBLE, tuple(missed + missing))
    if missing:
        return Verdict(tier, Status.INCOMPLETE, tuple(missing))
    return Verdict(tier, Status.ELIGIBLE)


def _at_least(missed: list[str], name: str, value: float | None, minimum: float | None,
              unit: str) -> None:
    # A threshold on a figure that was not measured (no JSON case run, nothing timed)
    # is not judged: the category minimums already say what must be run.
    if minimum is not None and value is not None and value < minimum:
        missed.append(f"{name} {number(value)}{unit} < {minimum:g}{unit}")


def _at_most(missed: list[str], name: str, value: float | None, maximum: float | None,
             unit: str) -> None:
    if maximum is not None and value is not None and value > maximum:
        missed.append(f"{name} {number(value)}{unit} > {maximum:g}{unit}")


def number(value: float) -> str:
    """89.96 stays 89.96, 50.0 reads 50: a rounded figure must not appear to meet its bar."""
    return f"{round(value, 2):g}"


DEFAULT_THRESHOLDS = (
    # The seed's bar for a local haiku model: classification (the hardest task),
    # JSON that parses, no leaked thinking, answers within a cheap call's budget.
    Thresholds("haiku", {"classify": 90.0, "json": 90.0, "instruct": 80.0},
               min_json_valid_pct=95.0, max_think_leak_pct=0.0, max_error_pct=2.0,
               max_empty_or_truncated_pct=5.0, p95_latency_budget_ms=10_000.0),
    Thresholds("sonnet", {"rca": 80.0, "design": 80.0, "quickfix": 80.0, "schema": 90.0,
                          "review": 80.0},
               min_json_valid_pct=95.0, max_think_leak_pct=0.0, max_error_pct=2.0,
               max_empty_or_truncated_pct=5.0, p95_latency_budget_ms=60_000.0),
)
