"""Timed-out attempts through the rollups into the gates: counted as errors, and by the
latency gate as slow requests (a model that times out on its slow answers would otherwise
look fast, its slowest requests missing from the latency sample)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

import pytest
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from canary import evaluation, hourly, rollups
from canary.models import HourlyRollup, MetricRollup, RequestMetric, Rollout, Transition
from canary.recorder import DatabaseSink
from canary.tasks import evaluate_rollouts
from llmcontrol.client.metrics import MetricRecord
from tests.rollouts.conftest import haiku_rollout, put_at, rollout_at_25  # noqa: F401

NOW = datetime.fromisoformat("2026-03-10T12:05:00+00:00")
MODELS = {"local": ("llamacpp-local", "smollm2-135m-instruct"),
          "cloud": ("anthropic", "claude-haiku-3-5-20241022"),
          "fallback": ("anthropic", "claude-haiku-3-5-20241022")}
_ids = count()


def attempt(at: datetime, routed_to: str, *, error_type: str = "", latency_ms: float = 300.0,
            stage: int = 25) -> MetricRecord:
    provider, model = MODELS[routed_to]
    return MetricRecord(
        request_id=f"t{next(_ids)}", attempt=1 if routed_to == "fallback" else 0, tier="haiku",
        provider=provider, model=model, routed_to=routed_to, bucket=7, stage=stage,
        success=not error_type, error_type=error_type, latency_ms=latency_ms, created_at=at)


def test_a_timeout_is_an_error_and_a_timeout_in_the_minute_rollup() -> None:
    at = NOW
    groups = rollups.summarise([
        attempt(at, "local"), attempt(at, "local", error_type="timeout", latency_ms=500.0),
        attempt(at, "local", error_type="server_error"),
        attempt(at, "local", error_type="cancelled"),  # the caller left: not counted at all
    ])
    [(counts, histogram)] = groups.values()
    assert (counts["requests"], counts["errors"], counts["timeouts"]) == (3, 2, 1)
    assert sum(histogram.values()) == 1  # latency histograms hold successes only


def test_rollups_and_closed_hours_count_the_timeouts(db: None) -> None:
    kinds = ["", "timeout", "", "server_error", "timeout", "cancelled", ""]
    DatabaseSink("test").write([
        attempt(NOW.replace(minute=3) - timedelta(hours=hours_ago, minutes=-i), arm,
                error_type=kinds[i % len(kinds)])
        for hours_ago in (2, 1) for arm in ("local", "cloud") for i in range(10)])

    raw = RequestMetric.objects.filter(error_type="timeout").count()
    assert raw == 12
    assert MetricRollup.objects.aggregate(n=Sum("timeouts"))["n"] == raw
    start = NOW.replace(minute=0) - timedelta(hours=2)
    live = hourly.aggregate(start, NOW, tiers=["haiku"])
    assert [(b.routed_to, b.requests, b.errors, b.timeouts) for b in live] == [
        ("cloud", 9, 4, 3), ("local", 9, 4, 3)] * 2
    assert hourly.roll_up_closed_hours(now=NOW + timedelta(minutes=10)) == 4
    assert HourlyRollup.objects.aggregate(n=Sum("timeouts"))["n"] == raw
    stored = hourly.hours(start, NOW, tiers=["haiku"])
    assert [(b.routed_to, b.timeouts) for b in stored] == [(b.routed_to, b.timeouts)
                                                           for b in live]


@pytest.fixture
def lenient_on_errors(rollout_at_25: Rollout) -> Rollout:  # noqa: F811
    """Errors up to 50% allowed, a small sample floor: here only the latency gate can fail."""
    Rollout.objects.filter(pk=rollout_at_25.pk).update(
        error_rate_ceiling=0.5, baseline_error_margin=0.45, min_samples=10,
        consecutive_failure_limit=1000)
    rollout_at_25.refresh_from_db()
    return rollout_at_25


def test_a_candidate_fast_when_it_answers_but_timing_out_is_rolled_back(
        lenient_on_errors: Rollout, admin_client: Client) -> None:
    # 300 cloud answers and 40 local ones, all about 300 ms; 15 more local attempts timed
    # out (each then answered by a fallback). Judged on answers alone the candidate is as
    # fast as the baseline and the tier would hold.
    start = timezone.now() - timedelta(minutes=30)
    records = [attempt(start + timedelta(seconds=i), "cloud", latency_ms=250 + i % 100)
               for i in range(300)]
    records += [attempt(start + timedelta(seconds=i), "local", latency_ms=250 + i)
                for i in range(40)]
    for i in range(15):
        at = start + timedelta(seconds=100 + i)
        records += [attempt(at, "local", error_type="timeout", latency_ms=1000.0),
                    attempt(at, "fallback", latency_ms=300.0)]
    DatabaseSink("test").write(records)

    candidate, baseline, _ = evaluation.collect(lenient_on_errors)
    assert (candidate.requests, candidate.errors, candidate.timeouts) == (55, 15, 15)
    assert (baseline.requests, baseline.timeouts) == (300, 0)  # fallbacks are not baseline
    assert candidate.slow_successes == 0
    # The control room's gate table says it in words.
    page = admin_client.get(reverse("admin:canary_dashboard_tier", args=["haiku"]))
    assert page.status_code == 200
    assert "slower than" in page.content.decode()
    assert "or timed out (15 timeouts; lower bound" in page.content.decode()

    assert evaluate_rollouts() == {"haiku": "fail: rollback"}
    transition = Transition.objects.get()
    assert (transition.to_stage, transition.reason) == (0, "quality_gate_rollback")
    verdicts = {g["gate"]: g["verdict"] for g in transition.evidence["gates"]}
    assert verdicts["latency_p95"] == "fail"
    assert verdicts["error_rate"] != "fail" and verdicts["error_rate_vs_baseline"] != "fail"
    [latency] = [g for g in transition.evidence["gates"] if g["gate"] == "latency_p95"]
    assert latency["evidence"]["candidate"]["successes"] == 40
    assert latency["evidence"]["candidate"]["timeouts"] == 15
    assert latency["observed"] == pytest.approx(15 / 55)
    assert "or timed out (15 timeouts;" in latency["sentence"]
