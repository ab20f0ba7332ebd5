"""Gate verdicts, evidence and sentences on small, hand-checkable aggregates."""

from __future__ import annotations

import json
import math
import random

import pytest

from canary.gates import (
    ALPHA_SHARES,
    ArmCounts,
    GateSettings,
    Sample,
    Verdict,
    arm_counts,
    error_rate_gate,
    error_regression_gate,
    evaluate,
    evaluate_samples,
    latency_gate,
    latency_threshold_ms,
    overall_verdict,
    p95_upper_rank,
    quality_gates,
)
from canary.stats import lower_bound, upper_bound

PASS, FAIL, HOLD = Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE
SETTINGS = GateSettings()
QUIET_BASELINE = ArmCounts(20_000, 200)  # 1% errors, plenty of evidence


def binomial_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k + 1))


def closed_form_evidence(errors: int, requests: int, *, above: bool) -> float:
    """E_n(5%) for the default error gate, by hand: prior Beta(1, 19) (mean 5%, strength
    20), truncated above 5% (evidence of "worse") or below it (evidence of "better").
    For integer a, b: I_t(a, b) = P(Binomial(a + b - 1, t) >= a)."""
    t, ok = 0.05, requests - errors

    def log_b(s: int, f: int) -> float:
        return math.lgamma(1 + s) + math.lgamma(19 + f) - math.lgamma(20 + s + f)

    ratio = math.exp(log_b(errors, ok) - log_b(0, 0)) * t**-errors * (1 - t) ** -ok
    posterior_below = 1 - binomial_cdf(errors, requests + 19, t)
    prior_below = 1 - (1 - t) ** 19
    if above:
        return ratio * (1 - posterior_below) / (1 - prior_below)
    return ratio * posterior_below / prior_below


@pytest.mark.parametrize(("verdicts", "expected"), [
    ([PASS, PASS, PASS], PASS), ([PASS, HOLD, PASS], HOLD), ([PASS, HOLD, FAIL], FAIL),
    ([FAIL], FAIL), ([HOLD], HOLD), ([], PASS),
])
def test_overall_verdict(verdicts: list[Verdict], expected: Verdict) -> None:
    assert overall_verdict(verdicts) is expected


@pytest.mark.parametrize(("requests", "first_failing"), [(10, 5), (50, 10), (100, 14), (200, 22)])
def test_error_gate_fails_exactly_where_the_closed_form_says(requests: int,
                                                             first_failing: int) -> None:
    one_over_alpha = 1 / SETTINGS.alpha_for("candidate_error_rate")  # 1 / 0.015
    assert closed_form_evidence(first_failing, requests, above=True) >= one_over_alpha
    assert closed_form_evidence(first_failing - 1, requests, above=True) < one_over_alpha
    verdict = error_rate_gate(ArmCounts(requests, first_failing), QUIET_BASELINE, SETTINGS)
    assert verdict.verdict is FAIL
    before = error_rate_gate(ArmCounts(requests, first_failing - 1), QUIET_BASELINE, SETTINGS)
    assert before.verdict is HOLD


@pytest.mark.parametrize(("requests", "last_passing"), [(200, 1), (300, 4), (400, 7), (800, 21)])
def test_error_gate_passes_exactly_where_the_closed_form_says(requests: int,
                                                              last_passing: int) -> None:
    one_over_alpha = 1 / SETTINGS.alpha_for("candidate_error_rate")
    assert closed_form_evidence(last_passing, requests, above=False) >= one_over_alpha
    assert closed_form_evidence(last_passing + 1, requests, above=False) < one_over_alpha
    assert error_rate_gate(ArmCounts(requests, last_passing), QUIET_BASELINE, SETTINGS
                           ).verdict is PASS
    assert error_rate_gate(ArmCounts(requests, last_passing + 1), QUIET_BASELINE, SETTINGS
                           ).verdict is HOLD


def test_a_perfect_candidate_still_needs_evidence() -> None:
    # 0 errors in 100: the upper bound is still above 5%, whatever min_samples says.
    assert error_rate_gate(ArmCounts(100, 0), QUIET_BASELINE, SETTINGS).verdict is HOLD


def test_below_min_samples_a_passing_gate_holds() -> None:
    strict = GateSettings(min_samples=300)
    result = error_rate_gate(ArmCounts(200, 1), QUIET_BASELINE, strict)
    assert result.verdict is HOLD
    assert result.upper is not None and result.upper <= 0.05  # would have passed
    assert result.sentence.endswith("INCONCLUSIVE, 200 samples (needs 300)")


def test_baseline_relative_gate_needs_min_samples_in_both_arms() -> None:
    result = error_regression_gate(ArmCounts(800, 8), ArmCounts(40, 0), SETTINGS)
    assert result.verdict is HOLD
    assert result.sentence.endswith("800 vs 40 samples (needs 50 per arm)")


def test_hard_failure_before_min_samples() -> None:
    evaluation = evaluate(ArmCounts(10, 5), ArmCounts(10, 0))
    gate = evaluation.gates[0]
    assert (gate.gate, gate.verdict, gate.hard_failure) == ("error_rate", FAIL, True)
    assert gate.sentence == ("error rate 50.0% (lower bound 5.1%) vs ceiling 5%: "
                             "FAIL (hard failure), 10 samples (needs 50)")
    assert evaluation.verdict is FAIL
    assert evaluation.summary == "FAIL: " + gate.sentence


def test_four_errors_in_ten_is_not_yet_overwhelming() -> None:
    assert evaluate(ArmCounts(10, 4), ArmCounts(10, 0)).verdict is HOLD


def test_sentence_for_a_passing_error_gate() -> None:
    result = error_rate_gate(ArmCounts(412, 5), QUIET_BASELINE, SETTINGS)
    assert result.sentence == "error rate 1.2% (upper bound 3.8%) vs ceiling 5%: PASS, 412 samples"


def test_regression_fails_a_candidate_under_the_ceiling_but_far_above_the_baseline() -> None:
    candidate = ArmCounts(4000, 180)  # 4.5%, baseline 1%
    assert error_rate_gate(candidate, QUIET_BASELINE, SETTINGS).verdict is HOLD
    result = error_regression_gate(candidate, QUIET_BASELINE, SETTINGS)
    assert result.verdict is FAIL
    assert result.lower is not None and result.lower > 0.02
    assert result.sentence == (
        "error rate 4.5% vs baseline 1.0%: difference +3.5 pp (lower bound +2.1 pp) "
        "vs margin +2 pp: FAIL, 4000 vs 20000 samples")


def test_regression_bounds_combine_both_arms() -> None:
    candidate = ArmCounts(412, 5)
    result = error_regression_gate(candidate, QUIET_BASELINE, SETTINGS)
    prior = SETTINGS.prior(0.05)
    alpha_c, alpha_b = SETTINGS.alpha_for("candidate_error_rate"), SETTINGS.alpha_for(
        "baseline_error_rate")
    assert result.lower == (lower_bound(5, 412, alpha_c, prior)
                            - upper_bound(200, 20_000, alpha_b, prior))
    assert result.upper == (upper_bound(5, 412, alpha_c, prior)
                            - lower_bound(200, 20_000, alpha_b, prior))
    assert result.verdict is HOLD  # +2.0 pp is inside [lower, upper]
    assert result.lower < 0.02 < result.upper


# -- latency ---------------------------------------------------------------------------

BASELINE_WITH_P95 = ArmCounts(1000, 0, p95_latency_ms=400.0, p95_upper_latency_ms=450.0)


def test_latency_threshold_is_multiplier_times_the_upper_bound_of_the_baseline_p95() -> None:
    assert p95_upper_rank(1000, SETTINGS) == 974  # a 97.4th-percentile rank out of 1,000
    assert latency_threshold_ms(BASELINE_WITH_P95, SETTINGS) == 900.0
    assert p95_upper_rank(134, SETTINGS) is None  # too few values to bound a p95
    assert p95_upper_rank(135, SETTINGS) == 135
    small = ArmCounts(134, 0, p95_upper_latency_ms=450.0)
    assert latency_threshold_ms(small, SETTINGS) is None


@pytest.mark.parametrize(("successes", "slow", "expected"), [
    (200, 21, HOLD), (200, 22, FAIL), (800, 19, PASS), (800, 40, HOLD), (30, 30, FAIL),
])
def test_latency_gate_verdicts(successes: int, slow: int, expected: Verdict) -> None:
    candidate = ArmCounts(successes, 0, p95_latency_ms=1000.0, slow_successes=slow)
    result = latency_gate(candidate, BASELINE_WITH_P95, SETTINGS)
    assert result.verdict is expected
    assert result.threshold == pytest.approx(0.05)


def test_latency_sentence_and_evidence() -> None:
    candidate = ArmCounts(200, 0, p95_latency_ms=1000.0, slow_successes=40)
    result = latency_gate(candidate, BASELINE_WITH_P95, SETTINGS)
    assert result.sentence == (
        "p95 latency 1000 ms vs 2x baseline p95 400 ms (bound 450 ms): 20.0% slower than "
        "900 ms (lower bound 11.6%) vs 5%: FAIL, 200 vs 1000 samples")
    assert result.evidence["threshold_ms"] == 900.0
    assert result.evidence["candidate"] == {
        "successes": 200, "timeouts": 0, "p95_latency_ms": 1000.0, "slow_successes": 40}
    assert result.evidence["baseline"] == {
        "successes": 1000, "timeouts": 0, "p95_latency_ms": 400.0, "p95_upper_latency_ms": 450.0}


def test_a_timeout_is_a_slow_request_for_the_latency_gate() -> None:
    # 170 fast answers and 30 timeouts: judged on the answers alone, the candidate is fast
    # (it would PASS); a timeout is an answer slower than any threshold.
    fast_with_timeouts = ArmCounts(200, 30, p95_latency_ms=300.0, slow_successes=0,
                                   timeouts=30)
    result = latency_gate(fast_with_timeouts, BASELINE_WITH_P95, SETTINGS)
    assert result.verdict is FAIL
    assert result.observed == pytest.approx(30 / 200)
    assert result.lower == lower_bound(30, 200, SETTINGS.alpha_for("candidate_slow_rate"),
                                       SETTINGS.prior(1 - SETTINGS.latency_quantile))
    assert result.sentence == (
        "p95 latency 300 ms vs 2x baseline p95 400 ms (bound 450 ms): 15.0% slower than "
        "900 ms or timed out (30 timeouts; lower bound 7.8%) vs 5%: FAIL, 200 vs 1000 samples")
    assert result.evidence["candidate"] == {
        "successes": 170, "timeouts": 30, "p95_latency_ms": 300.0, "slow_successes": 0}
    # The same 30 errors of another kind say nothing about latency: 170 fast answers pass.
    other_errors = ArmCounts(200, 30, p95_latency_ms=300.0, slow_successes=0)
    assert latency_gate(other_errors, BASELINE_WITH_P95, SETTINGS).verdict is PASS


@pytest.mark.parametrize(("requests", "slow", "timeouts", "expected"), [
    (200, 21, 0, HOLD), (200, 11, 11, FAIL), (200, 0, 22, FAIL), (800, 10, 9, PASS),
    (800, 10, 30, HOLD), (10, 0, 10, FAIL),
])
def test_latency_gate_counts_slow_answers_and_timeouts_together(
        requests: int, slow: int, timeouts: int, expected: Verdict) -> None:
    # The same verdicts as test_latency_gate_verdicts with slow answers alone.
    candidate = ArmCounts(requests, timeouts, slow_successes=slow, timeouts=timeouts)
    result = latency_gate(candidate, BASELINE_WITH_P95, SETTINGS)
    assert result.verdict is expected
    assert result.evidence["candidate"]["timeouts"] == timeouts


def test_the_error_gates_count_timeouts_as_errors() -> None:
    candidate = ArmCounts(200, 30, slow_successes=0, timeouts=30)
    assert error_rate_gate(candidate, QUIET_BASELINE, SETTINGS).verdict is FAIL
    assert error_rate_gate(candidate, QUIET_BASELINE, SETTINGS).evidence["candidate"] == {
        "requests": 200, "errors": 30, "rate": 0.15}


def test_latency_holds_while_the_baseline_p95_is_not_bounded() -> None:
    result = latency_gate(ArmCounts(200, 0, slow_successes=None), ArmCounts(100, 0), SETTINGS)
    assert result.verdict is HOLD
    assert result.sentence == ("p95 latency n/a vs 2x baseline p95 n/a: INCONCLUSIVE, "
                               "baseline p95 not yet bounded (100 baseline successes)")


def test_latency_refuses_a_missing_slow_count() -> None:
    with pytest.raises(ValueError, match="slow_successes"):
        latency_gate(ArmCounts(200, 0), BASELINE_WITH_P95, SETTINGS)


# -- quality ---------------------------------------------------------------------------

def test_json_gate_is_not_applicable_without_json_requests() -> None:
    json_gate = quality_gates(ArmCounts(100, 0), QUIET_BASELINE, SETTINGS)[0]
    assert (json_gate.gate, json_gate.verdict) == ("json_invalid", PASS)
    assert json_gate.sentence == "JSON-invalid rate: no request asked for JSON: PASS"


def test_quality_gates_judge_among_successful_answers() -> None:
    candidate = ArmCounts(300, 100, json_requested=60, json_invalid=15, think_leaks=0,
                          empty_or_truncated=30)
    json_gate, think, empty = quality_gates(candidate, QUIET_BASELINE, SETTINGS)
    assert json_gate.verdict is FAIL and json_gate.observed == 0.25
    assert think.verdict is HOLD and think.evidence["candidate"]["successes"] == 200
    assert empty.verdict is FAIL and empty.observed == 0.15
    assert json_gate.sentence == ("JSON-invalid rate 25.0% (lower bound 8.4%) vs ceiling 5%: "
                                  "FAIL, 60 samples")


# -- the whole evaluation ----------------------------------------------------------------

def healthy_pair() -> tuple[ArmCounts, ArmCounts]:
    candidate = ArmCounts(1000, 10, json_requested=300, json_invalid=1, think_leaks=0,
                          empty_or_truncated=5, p95_latency_ms=1100.0, slow_successes=4)
    baseline = ArmCounts(20_000, 300, json_requested=6000, json_invalid=20,
                         p95_latency_ms=1000.0, p95_upper_latency_ms=1040.0)
    return candidate, baseline


def test_a_healthy_candidate_passes_every_gate() -> None:
    evaluation = evaluate(*healthy_pair())
    assert [(g.gate, g.verdict) for g in evaluation.gates] == [
        ("error_rate", PASS), ("error_rate_vs_baseline", PASS), ("latency_p95", PASS),
        ("json_invalid", PASS), ("think_leak", PASS), ("empty_or_truncated", PASS)]
    assert evaluation.verdict is PASS
    assert evaluation.summary == "PASS: all 6 gates pass (1000 candidate, 20000 baseline requests)"


def test_inconclusive_summary_names_the_gates_that_hold() -> None:
    candidate, baseline = healthy_pair()
    evaluation = evaluate(ArmCounts(1000, 10, json_requested=30, think_leaks=5,
                                    slow_successes=4), baseline)
    assert evaluation.verdict is HOLD
    assert evaluation.summary == (
        "INCONCLUSIVE: waiting on json_invalid, think_leak (4 of 6 gates pass)")


def test_evidence_dict_is_json_and_complete() -> None:
    evaluation = evaluate(*healthy_pair())
    document = json.loads(json.dumps(evaluation.to_dict()))
    assert document["verdict"] == "pass"
    assert document["settings"]["alpha"] == 0.05
    assert document["alpha_shares"] == dict(ALPHA_SHARES)
    error = document["gates"][0]
    assert set(error) == {"gate", "verdict", "sentence", "observed", "lower", "upper",
                          "threshold", "hard_failure", "evidence"}
    assert error["verdict"] == "pass" and error["threshold"] == 0.05
    assert error["observed"] == 0.01 and 0 < error["lower"] < 0.01 < error["upper"] < 0.05
    assert error["evidence"]["candidate"] == {"requests": 1000, "errors": 10, "rate": 0.01}
    assert error["evidence"]["baseline"] == {"requests": 20000, "errors": 300, "rate": 0.015}
    assert error["evidence"]["alpha"] == pytest.approx(0.015)
    latency = document["gates"][2]
    assert latency["evidence"]["baseline"]["p95_latency_ms"] == 1000.0
    assert latency["evidence"]["threshold_ms"] == 2080.0


def test_alpha_shares_spend_exactly_alpha() -> None:
    assert math.fsum(ALPHA_SHARES.values()) == pytest.approx(1.0)
    assert SETTINGS.alpha_for("candidate_error_rate") == pytest.approx(0.015)


@pytest.mark.parametrize("bad", [
    {"requests": 10, "errors": 11}, {"requests": 10, "errors": 0, "json_invalid": 1},
    {"requests": 10, "errors": 5, "think_leaks": 6},
    {"requests": 10, "errors": 5, "slow_successes": 6},
    {"requests": 10, "errors": 2, "timeouts": 3}, {"requests": 10, "errors": 2, "timeouts": -1},
])
def test_impossible_counts_are_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        ArmCounts(**bad)


@pytest.mark.parametrize("bad", [{"alpha": 0.0}, {"error_rate_ceiling": 1.0},
                                 {"min_samples": -1}, {"latency_multiplier": 0.0}])
def test_impossible_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        GateSettings(**bad)


# -- raw samples -------------------------------------------------------------------------

def test_arm_counts_from_samples() -> None:
    samples = [Sample(True, float(ms)) for ms in range(1, 21)] + [
        Sample(False, 5000.0),
        Sample(True, 30.0, json_requested=True, json_valid=False),
        Sample(True, 40.0, json_requested=True, json_valid=True, think_leaked=True),
        Sample(True, 50.0, empty_or_truncated=True),
    ]
    counts = arm_counts(samples, SETTINGS, slow_above_ms=20.0)
    assert counts == ArmCounts(
        requests=24, errors=1, json_requested=2, json_invalid=1, think_leaks=1,
        empty_or_truncated=1,
        p95_latency_ms=40.0,  # nearest rank: ceil(0.95 * 23) = 22nd of 23
        p95_upper_latency_ms=None,  # 23 values cannot bound a p95 yet
        slow_successes=3,  # 30, 40, 50: strictly slower than 20
    )


def test_arm_counts_counts_timeouts_among_the_errors() -> None:
    samples = [Sample(True, 10.0)] * 20 + [Sample(False, 300.0, timed_out=True)] * 3 + [
        Sample(False, 5.0)]
    counts = arm_counts(samples, SETTINGS, slow_above_ms=20.0)
    assert (counts.requests, counts.errors, counts.timeouts, counts.slow_successes) == (
        24, 4, 3, 0)


def test_evaluate_samples_sees_a_candidate_that_times_out_on_its_slow_answers() -> None:
    # Candidate and baseline alike, except that the candidate's slowest 10% time out: its
    # answers alone look as fast as the baseline's. Errors may reach 15% in this tier.
    rng = random.Random(5)
    settings = GateSettings(error_rate_ceiling=0.3, error_rate_margin=0.2)
    baseline = [Sample(True, rng.lognormvariate(6.7, 0.5)) for _ in range(4000)]
    candidate = [Sample(True, rng.lognormvariate(6.7, 0.5)) for _ in range(1000)]
    cut = sorted(s.latency_ms for s in candidate)[900]
    candidate = [s if s.latency_ms < cut else Sample(False, cut, timed_out=True)
                 for s in candidate]
    gates = {g.gate: g for g in evaluate_samples(candidate, baseline, settings).gates}
    assert gates["latency_p95"].verdict is FAIL
    assert gates["latency_p95"].evidence["candidate"]["timeouts"] == 100
    assert gates["error_rate"].verdict is PASS  # 10% < 30%: only the latency gate sees it
    # Were the timeouts other errors, the answers that came would pass the latency gate.
    untimed = [Sample(s.success, s.latency_ms) for s in candidate]
    gates = {g.gate: g for g in evaluate_samples(untimed, baseline, settings).gates}
    assert gates["latency_p95"].verdict is PASS


def test_arm_counts_picks_the_upper_rank() -> None:
    counts = arm_counts([Sample(True, float(ms)) for ms in range(1000, 0, -1)], SETTINGS)
    assert (counts.p95_latency_ms, counts.p95_upper_latency_ms) == (950.0, 974.0)


def test_evaluate_samples_is_the_database_sequence_on_raw_rows() -> None:
    rng = random.Random(3)

    def draw(n: int, errors: float, scale: float) -> list[Sample]:
        return [Sample(rng.random() > errors, scale * rng.lognormvariate(6.7, 0.5),
                       json_requested=rng.random() < 0.3, json_valid=rng.random() > 0.01)
                for _ in range(n)]

    candidate, baseline = draw(400, 0.02, 1.0), draw(4000, 0.02, 1.0)
    baseline_counts = arm_counts(baseline, SETTINGS)
    threshold = latency_threshold_ms(baseline_counts, SETTINGS)
    assert threshold is not None
    expected = evaluate(arm_counts(candidate, SETTINGS, threshold), baseline_counts, SETTINGS)
    assert evaluate_samples(candidate, baseline, SETTINGS) == expected
