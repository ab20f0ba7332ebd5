"""Time buckets of the metric stream for charts and /metrics, from the per-minute rollups.

`aggregate()` sums minute rollups per (time bucket, tier, arm) in SQL: counts with
`Trunc`, latency histograms merged by PostgreSQL (`jsonb_each_text`), so nothing
raw reaches Python. Merging histograms is the expensive part (a week is ~10,000
minute rows per arm), so closed hours are stored once in `HourlyRollup` by the
scheduled `roll_up_closed_hours`, and `hours()` reads those plus, live, whatever
the schedule has not stored yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Max, Min, Sum
from django.db.models.functions import Trunc
from django.utils import timezone

from canary import rollups
from canary.models import HourlyRollup, MetricRollup, RoutedTo

COUNTS = ("requests", "errors", "timeouts", "json_requested", "json_invalid", "think_leaks",
          "empty_or_truncated", "input_tokens", "output_tokens")
HOUR = timedelta(hours=1)
# An hour is stored this long after it ends: remote clients post their batches late.
SETTLE = timedelta(minutes=10)
# On a first run, how far back to fill (the longest chart window, with a margin).
BACKFILL = timedelta(days=8)
UNITS = ("minute", "hour")


@dataclass
class Bucket:
    """One tier's arm over one time bucket (a minute or an hour)."""

    start: datetime
    tier: str
    routed_to: str
    requests: int = 0
    errors: int = 0
    timeouts: int = 0  # of the errors
    json_requested: int = 0
    json_invalid: int = 0
    think_leaks: int = 0
    empty_or_truncated: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    histogram: dict[str, int] = field(default_factory=dict)
    p50_ms: float | None = None
    p95_ms: float | None = None

    @property
    def successes(self) -> int:
        return self.requests - self.errors


def aggregate(start: datetime, end: datetime, *, unit: str = "hour",
              tiers: Sequence[str] | None = None) -> list[Bucket]:
    """Minute rollups in [start, end) summed per (unit, tier, arm), with p50/p95."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}")
    rows = MetricRollup.objects.filter(minute__gte=start, minute__lt=end,
                                       routed_to__in=RoutedTo.values)
    if tiers is not None:
        # With routed_to__in, an index range scan of rollup_tier_arm_minute per (tier, arm).
        rows = rows.filter(tier__in=tiers)
    buckets: dict[tuple[datetime, str, str], Bucket] = {}
    for row in (rows.annotate(start=Trunc("minute", unit)).values("start", "tier", "routed_to")
                .annotate(**{name: Sum(name) for name in COUNTS}).order_by()):
        key = (row.pop("start"), row.pop("tier"), row.pop("routed_to"))
        buckets[key] = Bucket(*key, **{name: int(value or 0) for name, value in row.items()})
    for key, histogram in _histograms(start, end, unit, tiers).items():
        bucket = buckets.get(key)
        if bucket is not None:
            bucket.histogram = histogram
    for bucket in buckets.values():
        _set_quantiles(bucket)
    return sorted(buckets.values(), key=lambda b: (b.start, b.tier, b.routed_to))


def hours(start: datetime, end: datetime, *, tiers: Sequence[str] | None = None) -> list[Bucket]:
    """Hourly buckets over [start, end): stored closed hours, the rest aggregated now."""
    start = floor_hour(start)
    watermark = HourlyRollup.objects.aggregate(last=Max("hour"))["last"]
    stored_until = min(end, watermark + HOUR) if watermark else start
    buckets: list[Bucket] = []
    if stored_until > start:
        stored = HourlyRollup.objects.filter(hour__gte=start, hour__lt=stored_until,
                                             routed_to__in=RoutedTo.values)
        if tiers is not None:
            stored = stored.filter(tier__in=tiers)
        buckets = [_from_stored(row) for row in stored.order_by("hour", "tier", "routed_to")]
    if end > max(start, stored_until):
        buckets += aggregate(max(start, stored_until), end, unit="hour", tiers=tiers)
    return buckets


def roll_up_closed_hours(now: datetime | None = None) -> int:
    """Store every closed hour not stored yet (all tiers), and prune old ones.

    Scheduled every few minutes. Idempotent and safe to run concurrently: a
    second writer's rows for the same hour are ignored.
    """
    now = now or timezone.now()
    closed_until = floor_hour(now - SETTLE)
    watermark = HourlyRollup.objects.aggregate(last=Max("hour"))["last"]
    if watermark is not None:
        start = watermark + HOUR
    else:
        first = (MetricRollup.objects.filter(minute__gte=closed_until - BACKFILL)
                 .aggregate(first=Min("minute"))["first"])
        start = floor_hour(first) if first else closed_until
    made = 0
    if start < closed_until:
        rows = [HourlyRollup(hour=b.start, tier=b.tier, routed_to=b.routed_to,
                             latency_histogram=b.histogram, p50_ms=b.p50_ms, p95_ms=b.p95_ms,
                             **{name: getattr(b, name) for name in COUNTS})
                for b in aggregate(start, closed_until, unit="hour")]
        made = len(HourlyRollup.objects.bulk_create(rows, ignore_conflicts=True))
    cutoff = now - timedelta(days=settings.METRICS_ROLLUP_RETENTION_DAYS)
    HourlyRollup.objects.filter(hour__lt=cutoff).delete()
    return made


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


# Internals


def _set_quantiles(bucket: Bucket) -> None:
    merged = rollups.merge_histograms([bucket.histogram])
    bucket.p50_ms = rollups.quantile(merged, 0.5)
    bucket.p95_ms = rollups.quantile(merged, 0.95)


def _from_stored(row: HourlyRollup) -> Bucket:
    return Bucket(row.hour, row.tier, row.routed_to, histogram=row.latency_histogram,
                  p50_ms=row.p50_ms, p95_ms=row.p95_ms,
                  **{name: getattr(row, name) for name in COUNTS})


def _histograms(start: datetime, end: datetime, unit: str,
                tiers: Sequence[str] | None) -> dict[tuple[datetime, str, str], dict[str, int]]:
    merged: dict[tuple[datetime, str, str], dict[str, int]] = defaultdict(dict)
    if connection.vendor == "postgresql":
        # Merged by the database, one row per (bucket, tier, arm, latency bucket).
        tier_clause = " AND r.tier = ANY(%s)" if tiers is not None else ""
        params: list[Any] = [unit, start, end, list(RoutedTo.values)]
        if tiers is not None:
            params.append(list(tiers))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT date_trunc(%s, r.minute), r.tier, r.routed_to, h.key, "
                "sum(h.value::bigint) FROM canary_metricrollup AS r, "
                "jsonb_each_text(r.latency_histogram) AS h "
                "WHERE r.minute >= %s AND r.minute < %s AND r.routed_to = ANY(%s)"
                f"{tier_clause} GROUP BY 1, 2, 3, 4",
                params,
            )
            for moment, tier, routed_to, index, count in cursor.fetchall():
                merged[(moment, tier, routed_to)][index] = int(count)
        return merged
    # SQLite (the embedded default): minute rows are few there; merge them here.
    rows = MetricRollup.objects.filter(minute__gte=start, minute__lt=end)
    if tiers is not None:
        rows = rows.filter(tier__in=tiers)
    for minute, tier, routed_to, histogram in rows.values_list(
            "minute", "tier", "routed_to", "latency_histogram"):
        moment = floor_hour(minute) if unit == "hour" else minute.replace(second=0, microsecond=0)
        target = merged[(moment, tier, routed_to)]
        for index, count in histogram.items():
            target[index] = target.get(index, 0) + count
    return merged
