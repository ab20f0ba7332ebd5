"""Proof by simulation: the gates' error rates over whole stages of minute-by-minute looks.

Traffic: 50 candidate and 950 baseline requests a minute (the 5% stage of a tier
serving 1,000 a minute), one look a minute, 20 looks a stage. Healthy arms: 2%
errors, log-normal latency (median 800 ms, sigma 0.5), JSON asked in 30% of
answers with 1% invalid, 0.1% think leaks, 1% empty or truncated. Fixed seeds.
The table in docs/canary.md comes from `python -m tests.canary.simulation`.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from tests.canary.simulation import HEALTHY, Summary, simulate


@cache
def healthy() -> Summary:
    return simulate(HEALTHY, runs=1000, looks=20)


def test_healthy_candidate_is_rarely_rolled_back_over_a_whole_stage() -> None:
    """Both arms at 2% errors and the same latency and quality: any FAIL, from any of
    the six gates, at any of the 20 looks, is a false rollback."""
    summary = healthy()
    assert summary.fail_rate <= 0.05, summary.describe()


def test_no_single_gate_misfires_on_a_healthy_candidate() -> None:
    summary = healthy()
    for gate in ("error_rate", "error_rate_vs_baseline", "latency_p95", "json_invalid"):
        assert summary.gates_failed.get(gate, 0) <= 50, summary.describe()


def test_error_rate_15_percent_is_rolled_back_within_200_requests() -> None:
    summary = simulate(replace(HEALTHY, error_rate=0.15), runs=1000, looks=20)
    assert summary.failed_within(200) >= 0.95, summary.describe()


def test_three_times_slower_is_rolled_back_within_200_requests() -> None:
    summary = simulate(replace(HEALTHY, latency_scale=3.0), runs=1000, looks=20)
    assert summary.failed_within(200) >= 0.95, summary.describe()
    assert set(summary.gates_failed) == {"latency_p95"}, summary.describe()


def test_broken_json_is_rolled_back_within_200_requests() -> None:
    """JSON asked in half the answers, a quarter of them invalid."""
    broken = replace(HEALTHY, json_share=0.5, json_invalid_rate=0.25)
    summary = simulate(broken, runs=1000, looks=20)
    assert summary.failed_within(200) >= 0.95, summary.describe()
    assert set(summary.gates_failed) == {"json_invalid"}, summary.describe()


def test_healthy_candidate_does_pass() -> None:
    """Holding forever would also never roll back: a healthy candidate must get through.
    At 50 candidate requests a minute, 2,500 requests are 50 minutes of a 5% stage."""
    summary = simulate(HEALTHY, runs=500, looks=120, stop_at_pass=True, seed=99)
    assert summary.passed_within(2500) >= 0.9, summary.describe()


def test_candidates_on_the_edge_of_healthy_are_rarely_rolled_back() -> None:
    """The hardest true nulls: exactly at the regression margin, exactly 2x the baseline
    p95, exactly at the JSON ceiling. A FAIL here is still a false rollback."""
    edges = {
        "error 4% vs baseline 2% + 2 pp": replace(HEALTHY, error_rate=0.04),
        "p95 exactly 2x": replace(HEALTHY, latency_scale=2.0),
        "JSON-invalid exactly 5%": replace(HEALTHY, json_invalid_rate=0.05),
    }
    for name, profile in edges.items():
        summary = simulate(profile, runs=300, looks=20, seed=5)
        assert summary.fail_rate <= 0.05, f"{name}: {summary.describe()}"
