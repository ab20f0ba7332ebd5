"""Chart data for one tier over a window: per time bucket and arm, aggregated in SQL.

Buckets come from `canary.hourly` (minute buckets for the last hour, hourly
ones for a day or a week); nothing here reads RequestMetric rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from canary import hourly
from canary.models import RoutedTo, Transition


@dataclass(frozen=True)
class Window:
    key: str
    label: str
    span: timedelta
    unit: str  # the time bucket: "minute" or "hour"

    @property
    def step(self) -> timedelta:
        return timedelta(minutes=1) if self.unit == "minute" else timedelta(hours=1)

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """[start, end): whole buckets, the last one being the current, partial one."""
        if self.unit == "minute":
            last = now.replace(second=0, microsecond=0)
        else:
            last = hourly.floor_hour(now)
        return last - self.span + self.step, now


WINDOWS = {
    "1h": Window("1h", "last hour", timedelta(hours=1), "minute"),
    "24h": Window("24h", "last 24 hours", timedelta(hours=24), "hour"),
    "7d": Window("7d", "last 7 days", timedelta(days=7), "hour"),
}
DEFAULT_WINDOW = "24h"
ARMS = (RoutedTo.LOCAL, RoutedTo.CLOUD, RoutedTo.FALLBACK)


@dataclass(frozen=True)
class Marker:
    at: datetime
    label: str  # e.g. "→ 25% (manual advance)"


@dataclass
class Series:
    """Aligned lists, one value per bucket (None where an arm had no traffic)."""

    window: Window
    start: datetime
    end: datetime
    times: list[datetime] = field(default_factory=list)
    requests: dict[str, list[int]] = field(default_factory=dict)
    error_rate: dict[str, list[float | None]] = field(default_factory=dict)
    p50_ms: dict[str, list[float | None]] = field(default_factory=dict)
    p95_ms: dict[str, list[float | None]] = field(default_factory=dict)
    json_invalid_rate: dict[str, list[float | None]] = field(default_factory=dict)
    think_leak_rate: dict[str, list[float | None]] = field(default_factory=dict)
    markers: list[Marker] = field(default_factory=list)

    @property
    def total_requests(self) -> int:
        return sum(sum(values) for values in self.requests.values())


def tier_series(rollout_id: int, tier: str, window: Window,
                now: datetime | None = None) -> Series:
    now = now or timezone.now()
    start, end = window.bounds(now)
    if window.unit == "minute":
        buckets = hourly.aggregate(start, end, unit="minute", tiers=[tier])
    else:
        buckets = hourly.hours(start, end, tiers=[tier])
    series = Series(window, start, end)
    count = int((end - start) / window.step) + 1
    series.times = [start + i * window.step for i in range(count)]
    position = {moment: i for i, moment in enumerate(series.times)}
    for name in ("requests", "error_rate", "p50_ms", "p95_ms", "json_invalid_rate",
                 "think_leak_rate"):
        empty = 0 if name == "requests" else None
        setattr(series, name, {arm: [empty] * count for arm in ARMS})
    for b in buckets:
        i = position.get(b.start)
        if i is None or b.routed_to not in series.requests:
            continue
        arm = b.routed_to
        series.requests[arm][i] = b.requests
        series.error_rate[arm][i] = _share(b.errors, b.requests)
        series.p50_ms[arm][i] = b.p50_ms
        series.p95_ms[arm][i] = b.p95_ms
        series.json_invalid_rate[arm][i] = _share(b.json_invalid, b.json_requested)
        series.think_leak_rate[arm][i] = _share(b.think_leaks, b.successes)
    series.markers = stage_markers(rollout_id, start, end)
    return series


def stage_markers(rollout_id: int, start: datetime, end: datetime, limit: int = 50) -> list[Marker]:
    """Stage and status changes in the window, oldest first (the transition_history index)."""
    rows = (Transition.objects.filter(rollout_id=rollout_id, created_at__gte=start,
                                      created_at__lt=end)
            .order_by("-created_at", "-pk")[:limit])
    return [Marker(t.created_at, _marker_label(t)) for t in reversed(rows)]


def _marker_label(t: Transition) -> str:
    change = (f"{t.to_stage}%" if t.to_stage != t.from_stage
              else t.get_to_status_display())
    return f"→ {change} ({t.get_reason_display()})"


def _share(count: int, total: int) -> float | None:
    return count / total if total else None
