"""Time buckets from the rollups: stored closed hours and live aggregation agree."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from canary import hourly
from canary.models import HourlyRollup, Rollout
from tests.dashboard.conftest import Writer

NOW = datetime.fromisoformat("2026-03-10T12:05:00+00:00")


@pytest.fixture
def three_hours(rollout_at_25: Rollout, write_metric: Writer) -> None:
    """09:xx, 10:xx, 11:xx and the current hour, local and cloud."""
    for hours_ago, latency in ((3, 100.0), (2, 200.0), (1, 400.0), (0, 800.0)):
        at = NOW.replace(minute=3) - timedelta(hours=hours_ago)
        for i in range(10):
            write_metric(at + timedelta(minutes=i), "local", latency_ms=latency,
                         success=i != 0, json_requested=True, json_valid=i != 5,
                         think_leaked=i == 7, input_tokens=10 if i else 0,
                         output_tokens=2 if i else 0)
            write_metric(at + timedelta(minutes=i), "cloud", latency_ms=latency * 2)


def test_an_hour_sums_its_minutes(three_hours: None) -> None:
    start = NOW.replace(minute=0) - timedelta(hours=3)
    local = [b for b in hourly.aggregate(start, start + timedelta(hours=1), tiers=["haiku"])
             if b.routed_to == "local"]
    (bucket,) = local
    assert (bucket.start, bucket.requests, bucket.errors, bucket.json_requested,
            bucket.json_invalid, bucket.think_leaks, bucket.input_tokens) == (
        start, 10, 1, 9, 1, 1, 90)
    assert 100 <= bucket.p50_ms <= 105 and 100 <= bucket.p95_ms <= 105  # one 5% bucket


def test_closed_hours_are_stored_once_and_read_back_the_same(three_hours: None) -> None:
    start = NOW.replace(minute=0) - timedelta(hours=3)
    live = hourly.aggregate(start, NOW, tiers=["haiku"])

    # 12:05: 11:00-12:00 ended 5 minutes ago, within the settling time: not stored yet.
    assert hourly.roll_up_closed_hours(now=NOW) == 4  # 09h and 10h, local and cloud
    assert hourly.roll_up_closed_hours(now=NOW) == 0
    assert hourly.roll_up_closed_hours(now=NOW + timedelta(minutes=10)) == 2  # 11h
    assert sorted(HourlyRollup.objects.values_list("hour", flat=True).distinct()) == [
        start, start + timedelta(hours=1), start + timedelta(hours=2)]

    mixed = hourly.hours(start, NOW, tiers=["haiku"])  # three stored hours, one live
    assert [(b.start, b.routed_to, b.requests, b.errors, b.p50_ms, b.p95_ms) for b in mixed] == [
        (b.start, b.routed_to, b.requests, b.errors, b.p50_ms, b.p95_ms) for b in live]
    assert len(mixed) == 8


def test_minute_buckets_for_the_last_hour(three_hours: None) -> None:
    start = NOW.replace(minute=0)
    buckets = hourly.aggregate(start, NOW + timedelta(minutes=10), unit="minute",
                               tiers=["haiku"])
    assert [(b.start.minute, b.routed_to, b.requests) for b in buckets][:4] == [
        (3, "cloud", 1), (3, "local", 1), (4, "cloud", 1), (4, "local", 1)]


def test_old_hours_are_pruned(three_hours: None, settings) -> None:
    hourly.roll_up_closed_hours(now=NOW + timedelta(hours=1))
    settings.METRICS_ROLLUP_RETENTION_DAYS = 1
    with time_machine.travel(NOW + timedelta(days=1, hours=2), tick=False):
        hourly.roll_up_closed_hours()
    assert HourlyRollup.objects.count() == 0


def test_an_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="unit must be one of minute, hour"):
        hourly.aggregate(NOW, NOW, unit="day")
