"""Savings against figures computed by hand, and `manage.py savings`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from canary.models import Rollout, Transition
from canary.savings import BadPeriod, parse_since, savings
from registry.models import Model
from tests.dashboard.conftest import Writer

NOW = datetime.fromisoformat("2026-03-10T12:00:00+00:00")
DAY_1 = datetime.fromisoformat("2026-03-08T09:30:00+00:00")
DAY_2 = datetime.fromisoformat("2026-03-09T23:59:00+00:00")


@pytest.fixture
def seeded_metrics(rollout_at_25: Rollout, write_metric: Writer) -> Rollout:
    """Local tokens on two days, with everything that must not count around them.

    Baseline claude-haiku-3-5: $0.80 input, $4.00 output per million tokens.
    Candidate smollm2, priced here at $0.05 / $0.10 (energy), so local cost shows.
    """
    Model.objects.filter(model_key="smollm2-135m-instruct").update(
        input_price_per_mtok=Decimal("0.05"), output_price_per_mtok=Decimal("0.10"))
    for _ in range(2):  # day 1: 2,000,000 input, 500,000 output
        write_metric(DAY_1, "local", input_tokens=1_000_000, output_tokens=250_000)
    write_metric(DAY_2, "local", input_tokens=400_000, output_tokens=100_000)  # day 2
    write_metric(DAY_2, "local", success=False)  # a failure records no tokens
    write_metric(DAY_2, "cloud", input_tokens=9_000_000, output_tokens=9_000_000)  # not local
    write_metric(DAY_2, "fallback", input_tokens=7_000_000, output_tokens=7_000_000)
    write_metric(NOW - timedelta(days=8), "local", input_tokens=5_000_000)  # before --since
    return rollout_at_25


def test_savings_match_the_figures_computed_by_hand(seeded_metrics: Rollout) -> None:
    report = savings(NOW - timedelta(days=7), NOW)

    day_1, day_2 = report.days.values()
    # Day 1: cloud 2 × 0.80 + 0.5 × 4.00 = 3.60; local 2 × 0.05 + 0.5 × 0.10 = 0.15
    assert (day_1.input_tokens, day_1.output_tokens) == (2_000_000, 500_000)
    assert (day_1.cloud_cost, day_1.local_cost, day_1.saved) == (
        Decimal("3.60"), Decimal("0.15"), Decimal("3.45"))
    # Day 2: cloud 0.4 × 0.80 + 0.1 × 4.00 = 0.72; local 0.4 × 0.05 + 0.1 × 0.10 = 0.03
    assert (day_2.input_tokens, day_2.output_tokens) == (400_000, 100_000)
    assert (day_2.cloud_cost, day_2.local_cost, day_2.saved) == (
        Decimal("0.72"), Decimal("0.03"), Decimal("0.69"))
    assert list(report.days) == [DAY_1.date(), DAY_2.date()]
    total = report.total
    assert (total.tokens, total.cloud_cost, total.local_cost, total.saved) == (
        3_000_000, Decimal("4.32"), Decimal("0.18"), Decimal("4.14"))
    assert report.notes == []


def test_savings_command_json_has_the_same_figures(seeded_metrics: Rollout) -> None:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("savings", "--since", "7d", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["total"] == {"input_tokens": 2_400_000, "output_tokens": 600_000,
                             "tokens": 3_000_000, "cloud_cost_usd": "4.320000",
                             "local_cost_usd": "0.180000", "saved_usd": "4.140000"}
    assert [(d["day"], d["saved_usd"]) for d in data["days"]] == [
        ("2026-03-08", "3.450000"), ("2026-03-09", "0.690000")]
    assert data["tiers"]["haiku"]["baseline"] == {
        "model": "anthropic/claude-haiku-3-5-20241022", "input_per_mtok_usd": "0.8000",
        "output_per_mtok_usd": "4.0000"}


def test_savings_command_prints_a_table(seeded_metrics: Rollout) -> None:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("savings", stdout=out)
    text = out.getvalue()
    assert "2026-03-08                 2,500,000         $3.60         $0.15         $3.45" in text
    assert "total                      3,000,000         $4.32         $0.18         $4.14" in text
    assert "haiku baseline: anthropic/claude-haiku-3-5-20241022" in text


def test_a_shorter_period_leaves_out_the_older_day(seeded_metrics: Rollout) -> None:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("savings", "--since", "36h", "--json", stdout=out)
    assert json.loads(out.getvalue())["total"]["saved_usd"] == "0.690000"


def test_without_a_rollout_baseline_the_tiers_first_cloud_model_prices_it(
    seeded_metrics: Rollout,
) -> None:
    Rollout.objects.filter(pk=seeded_metrics.pk).update(baseline=None)
    Model.objects.filter(model_key="claude-haiku-3-5-20241022").update(priority=50)
    report = savings(NOW - timedelta(days=7), NOW)
    baseline = report.baselines["haiku"]
    assert baseline is not None and baseline.model == "openai/gpt-4o-mini"  # priority 20
    # gpt-4o-mini: 2.4 × 0.15 + 0.6 × 0.60 = 0.72
    assert report.total.cloud_cost == Decimal("0.72")


@pytest.mark.parametrize("since", ["7", "7x", "-1d", "0d", "1y", "401d", ""])
def test_a_bad_since_is_refused_with_a_reason(since: str, seeded_metrics: Rollout) -> None:
    out = StringIO()
    with pytest.raises(CommandError, match="--since"):
        call_command("savings", "--since", since, stdout=out)
    assert out.getvalue() == ""
    assert not Transition.objects.exists()


def test_parse_since_reads_the_units() -> None:
    assert parse_since("90m") == timedelta(minutes=90)
    assert parse_since("24h") == timedelta(hours=24)
    assert parse_since("2w") == timedelta(days=14)
    with pytest.raises(BadPeriod):
        parse_since("7 d")
