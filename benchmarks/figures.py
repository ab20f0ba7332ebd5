"""From one model's call outcomes to the figures a report shows. Plain Python, no Django.

Definitions (docs/model-benchmarks.md explains why):
- generation tok/s: mean ± stddev over the speed calls, one sample per call. The
  server's own rate where every speed call carried one (source "server"), else
  the rate measured from the stream (source "measured"). Without speed calls,
  every successful call of at least MIN_RATE_TOKENS tokens is used instead.
- latency p50/p95: over the task calls (every category but speed, whose answers
  are long on purpose), timed-out and failed calls included at the time they took;
  skipped calls (never sent) excluded. Only speed calls: over those.
- pass rate per category: passed / calls, errors counting as failures.
- JSON validity: valid strict JSON / calls that asked for JSON and got an answer.
- think leaks, empty or truncated answers: share of answered calls; truncation
  (finish reason "length") is not counted for speed calls, which hit their cap by design.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.runner import CATEGORIES, SKIPPED, CallOutcome
from benchmarks.stats import mean, percentile, rate, stddev

MIN_RATE_TOKENS = 16


@dataclass
class Figures:
    calls: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    generation_tps: float | None = None
    generation_tps_stddev: float | None = None
    tps_source: str = ""  # server, measured, or "" when nothing could be timed
    tps_samples: int = 0
    measured_tps: float | None = None  # always the stream's own figure, for comparison
    server_tps: float | None = None  # mean of the server's figures, when it gave any
    prompt_tps: float | None = None
    ttft_ms: float | None = None  # medians
    ttfat_ms: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    pass_rates: dict[str, float] = field(default_factory=dict)  # category -> %
    json_valid_pct: float | None = None
    think_leak_pct: float | None = None
    empty_or_truncated_pct: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarise(calls: Sequence[CallOutcome]) -> Figures:
    answered = [c for c in calls if not c.errored]
    errors = [c for c in calls if c.errored]
    figures = Figures(calls=len(calls), errors=len(errors),
                      error_kinds=dict(Counter(c.error_kind for c in errors)))
    _rates(figures, calls)
    _timings(figures, calls)
    categories = [c for c in CATEGORIES if any(call.category == c for call in calls)]
    for category in categories:
        mine = [c for c in calls if c.category == category]
        figures.pass_rates[category] = rate(sum(c.passed for c in mine), len(mine)) or 0.0
    wanted_json = [c for c in answered if c.json_requested]
    figures.json_valid_pct = rate(sum(bool(c.json_valid) for c in wanted_json), len(wanted_json))
    figures.think_leak_pct = rate(sum(c.think_leaked for c in answered), len(answered))
    figures.empty_or_truncated_pct = rate(
        sum(c.empty or (c.truncated and c.category != "speed") for c in answered), len(answered))
    return figures


def _rates(figures: Figures, calls: Sequence[CallOutcome]) -> None:
    timed = [c for c in calls if c.category == "speed" and not c.errored]
    if not timed:
        timed = [c for c in calls if not c.errored and c.output_tokens >= MIN_RATE_TOKENS]
    measured = [c.measured_tps for c in timed if c.measured_tps is not None]
    server = [c.server_tps for c in timed if c.server_tps is not None]
    figures.measured_tps = mean(measured)
    figures.server_tps = mean(server)
    figures.prompt_tps = mean([c.prompt_tps for c in timed if c.prompt_tps is not None])
    samples, figures.tps_source = (server, "server") if timed and len(server) == len(timed) \
        else (measured, "measured" if measured else "")
    figures.generation_tps = mean(samples)
    figures.generation_tps_stddev = stddev(samples)
    figures.tps_samples = len(samples)


def _timings(figures: Figures, calls: Sequence[CallOutcome]) -> None:
    sent = [c for c in calls if c.error_kind != SKIPPED and c.latency_ms is not None]
    tasks = [c for c in sent if c.category != "speed"] or sent
    latencies = [c.latency_ms for c in tasks if c.latency_ms is not None]
    figures.latency_p50_ms = percentile(latencies, 0.50)
    figures.latency_p95_ms = percentile(latencies, 0.95)
    figures.ttft_ms = percentile([c.ttft_ms for c in sent if c.ttft_ms is not None], 0.50)
    figures.ttfat_ms = percentile([c.ttfat_ms for c in sent if c.ttfat_ms is not None], 0.50)
