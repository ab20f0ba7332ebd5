"""Per-minute rollups of the metric stream, and quantiles from their histograms.

`add(records)` runs inside the transaction that stores the raw rows, so rollups
and rows never disagree. Counts are exact; latency is bucketed on fixed
log-spaced edges 5% apart (1 ms to ~28 h), so a quantile read from a histogram
is the upper edge of the bucket it falls in: at most 5% above the true value.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from django.db import IntegrityError, transaction

from canary.models import MetricRollup
from llmcontrol.client.metrics import CANCELLED, MetricRecord
from llmcontrol.providers.errors import ErrorKind

GROWTH = 1.05
LATENCY_EDGES: tuple[float, ...] = tuple(GROWTH**i for i in range(0, 381))  # ms, upper edges
COUNTS = ("requests", "errors", "timeouts", "json_requested", "json_invalid", "think_leaks",
          "empty_or_truncated", "input_tokens", "output_tokens")


def bucket_of(latency_ms: float) -> int:
    """Index of the first edge at or above the latency (the last bucket takes the rest)."""
    return min(bisect.bisect_left(LATENCY_EDGES, latency_ms), len(LATENCY_EDGES) - 1)


def _key(r: MetricRecord) -> tuple[str, str, str, int, datetime]:
    return (r.tier, r.routed_to, r.model, r.stage, r.created_at.replace(second=0, microsecond=0))


def summarise(records: Iterable[MetricRecord]) -> dict[tuple, tuple[Counter[str], Counter[str]]]:
    """Per (tier, routed_to, model, stage, minute): the counts and the latency histogram."""
    groups: dict[tuple, tuple[Counter[str], Counter[str]]] = {}
    for r in records:
        if r.error_type == CANCELLED:
            # The caller hung up: not a sample of the model's quality or latency, so the
            # gates (which read these counts) neither see an error nor a request.
            continue
        counts, histogram = groups.setdefault(_key(r), (Counter(), Counter()))
        counts["requests"] += 1
        counts["input_tokens"] += r.input_tokens
        counts["output_tokens"] += r.output_tokens
        if not r.success:
            counts["errors"] += 1
            # Also an error; the latency gate counts it as a slow request as well.
            counts["timeouts"] += r.error_type == ErrorKind.TIMEOUT
            continue
        counts["json_requested"] += r.json_requested
        counts["json_invalid"] += r.json_requested and r.json_valid is False
        counts["think_leaks"] += r.think_leaked
        counts["empty_or_truncated"] += r.empty_answer or r.finish_reason == "length"
        histogram[str(bucket_of(r.latency_ms))] += 1
    return groups


def add(records: Sequence[MetricRecord]) -> None:
    """Fold a batch into the rollups. Call inside the transaction that stores the rows.

    Rows are locked in key order, the same in every writer, so that concurrent
    batches touching the same minutes wait for each other instead of deadlocking.
    """
    for (tier, routed_to, model, stage, minute), (counts, histogram) in sorted(
        summarise(records).items()
    ):
        fields = {"tier": tier, "routed_to": routed_to, "model": model, "stage": stage,
                  "minute": minute}
        row = _locked(fields)
        for name in COUNTS:
            setattr(row, name, getattr(row, name) + counts[name])
        merged = Counter(row.latency_histogram)
        merged.update(histogram)
        row.latency_histogram = dict(merged)
        row.save()


def _locked(fields: Mapping[str, object]) -> MetricRollup:
    # Two writers may meet on the same minute: the row lock orders them; a lost
    # creation race retries as an update.
    for _ in range(3):
        row = MetricRollup.objects.select_for_update().filter(**fields).first()
        if row is not None:
            return row
        try:
            with transaction.atomic():
                return MetricRollup.objects.create(**fields)
        except IntegrityError:
            continue
    raise RuntimeError(f"could not lock the rollup row {dict(fields)}")


def merge_histograms(histograms: Iterable[Mapping[str, int]]) -> list[tuple[int, int]]:
    """[(bucket index, count)] ascending, summed over many rollup rows."""
    total: Counter[int] = Counter()
    for histogram in histograms:
        for index, count in histogram.items():
            total[int(index)] += count
    return sorted(total.items())


def value_at_rank(buckets: Sequence[tuple[int, int]], rank: int | None) -> float | None:
    """The rank-th smallest latency (1-based), as its bucket's upper edge."""
    if not rank:
        return None
    seen = 0
    for index, count in buckets:
        seen += count
        if seen >= rank:
            return LATENCY_EDGES[index]
    return None


def quantile(buckets: Sequence[tuple[int, int]], q: float) -> float | None:
    n = sum(count for _, count in buckets)
    return value_at_rank(buckets, math.ceil(q * n)) if n else None


def count_above(buckets: Sequence[tuple[int, int]], threshold_ms: float) -> int:
    """Successes in buckets that lie wholly above the threshold.

    A bucket straddling the threshold is not counted: the latency gate then errs
    towards holding, by at most one bucket (5%) of latency.
    """
    return sum(count for index, count in buckets
               if index > 0 and LATENCY_EDGES[index - 1] >= threshold_ms)
