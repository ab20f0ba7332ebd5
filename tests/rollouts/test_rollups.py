"""Per-minute rollups: equal to the raw rows, safe under concurrent writers, quantiles in bounds."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Count, Q, Sum

from canary import rollups
from canary.models import MetricRollup, RequestMetric
from canary.recorder import DatabaseSink
from llmcontrol.client.metrics import MetricRecord

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def records(n: int, seed: int, *, start: datetime = START) -> list[MetricRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ok = rng.random() > 0.1
        json = rng.random() < 0.5
        out.append(MetricRecord(
            request_id=f"{seed}-{i}", attempt=0, tier=rng.choice(["haiku", "sonnet"]),
            provider="p", model=rng.choice(["a", "b"]), routed_to=rng.choice(["local", "cloud"]),
            bucket=rng.randrange(10_000), stage=25, success=ok,
            latency_ms=rng.lognormvariate(5.5, 0.6), error_type="" if ok else "timeout",
            input_tokens=rng.randrange(1000), output_tokens=rng.randrange(300),
            json_requested=json, json_valid=(rng.random() > 0.2) if json else None,
            think_leaked=rng.random() < 0.05, empty_answer=rng.random() < 0.02,
            finish_reason=rng.choice(["stop", "stop", "length"]),
            created_at=start + timedelta(seconds=rng.uniform(0, 600)),
        ))
    return out


def raw_totals() -> dict:
    ok = Q(success=True)
    row = RequestMetric.objects.aggregate(
        n_requests=Count("pk"), n_errors=Count("pk", filter=Q(success=False)),
        n_timeouts=Count("pk", filter=Q(success=False, error_type="timeout")),
        n_json_requested=Count("pk", filter=ok & Q(json_requested=True)),
        n_json_invalid=Count("pk", filter=ok & Q(json_requested=True, json_valid=False)),
        n_think_leaks=Count("pk", filter=ok & Q(think_leaked=True)),
        n_empty_or_truncated=Count(
            "pk", filter=ok & (Q(empty_answer=True) | Q(finish_reason="length"))),
        n_input_tokens=Sum("input_tokens"), n_output_tokens=Sum("output_tokens"),
    )
    return {name[2:]: value for name, value in row.items()}


def rollup_totals() -> dict:
    row = MetricRollup.objects.aggregate(**{f"n_{name}": Sum(name) for name in rollups.COUNTS})
    return {name[2:]: value for name, value in row.items()}


def test_rollups_equal_the_raw_rows(db: None) -> None:
    sink = DatabaseSink("test")
    for seed in range(5):
        sink.write(records(400, seed))
    assert rollup_totals() == raw_totals()
    successes = sum(sum(h.values()) for h in MetricRollup.objects.values_list(
        "latency_histogram", flat=True))
    assert successes == RequestMetric.objects.filter(success=True).count()
    # One row per (tier, arm, model, stage, minute): 2 x 2 x 2 x 1 x 10 minutes.
    assert MetricRollup.objects.count() == 80


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_on_the_same_minutes_lose_nothing() -> None:
    assert connection.vendor == "postgresql"
    batches = [records(300, seed) for seed in range(8)]
    errors: list[BaseException] = []

    def write(batch: list[MetricRecord]) -> None:
        try:
            DatabaseSink("t").write(batch)
        except BaseException as exc:  # asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert rollup_totals() == raw_totals()
    assert rollup_totals()["requests"] == 2400


def test_a_failed_batch_writes_neither_rows_nor_rollups(db: None) -> None:
    bad = records(10, 1)
    bad[5] = MetricRecord(**{**vars_of(bad[5]), "tier": "x" * 40})  # too long for the column
    with pytest.raises(Exception):  # noqa: B017 - the database's own error type
        DatabaseSink("t").write(bad)
    assert RequestMetric.objects.count() == 0 and MetricRollup.objects.count() == 0


def vars_of(record: MetricRecord) -> dict:
    return {name: getattr(record, name) for name in MetricRecord.__slots__}


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_quantiles_from_histograms_are_within_one_bucket_above(q: float) -> None:
    rng = random.Random(3)
    latencies = sorted(rng.lognormvariate(6, 0.8) for _ in range(5000))
    histogram: dict[str, int] = {}
    for x in latencies:
        key = str(rollups.bucket_of(x))
        histogram[key] = histogram.get(key, 0) + 1
    buckets = rollups.merge_histograms([histogram])
    exact = latencies[int(q * len(latencies)) - 1]
    estimate = rollups.quantile(buckets, q)
    assert exact <= estimate <= exact * rollups.GROWTH


def test_count_above_never_counts_a_bucket_below_the_threshold() -> None:
    histogram = {str(rollups.bucket_of(x)): 1 for x in (100.0, 199.0, 210.0, 400.0)}
    buckets = rollups.merge_histograms([histogram])
    assert rollups.count_above(buckets, 200.0) == 2  # 210 and 400; never 199
