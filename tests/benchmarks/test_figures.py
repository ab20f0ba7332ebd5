"""Figures from call outcomes, verdicts against thresholds, and the statistics under them."""

from __future__ import annotations

from benchmarks.figures import summarise
from benchmarks.runner import CallOutcome
from benchmarks.stats import mean, percentile, stddev
from benchmarks.verdict import DEFAULT_THRESHOLDS, Status, Thresholds, judge


def call(category: str, passed: bool = True, **values) -> CallOutcome:
    values.setdefault("latency_ms", 100.0)
    values.setdefault("answer", "ok")
    return CallOutcome(case_key=f"{category}-case", category=category, iteration=0,
                       passed=passed, **values)


def test_statistics() -> None:
    assert mean([]) is None and mean([1.0, 2.0, 6.0]) == 3.0
    assert stddev([5.0]) is None and stddev([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]) == \
        2.138089935299395
    values = [float(v) for v in range(1, 21)]
    assert (percentile(values, 0.5), percentile(values, 0.95)) == (10.0, 19.0)
    assert percentile([], 0.95) is None and percentile([7.0], 0.95) == 7.0


def test_server_rates_win_when_every_speed_call_has_one() -> None:
    figures = summarise([
        call("speed", server_tps=40.0, measured_tps=39.0, prompt_tps=900.0, output_tokens=128),
        call("speed", server_tps=44.0, measured_tps=43.0, prompt_tps=1100.0, output_tokens=128),
        call("classify", server_tps=10.0, measured_tps=3.0, output_tokens=2),
    ])
    assert (figures.generation_tps, figures.tps_source, figures.tps_samples) == (42.0, "server", 2)
    assert figures.generation_tps_stddev == 2.8284271247461903
    assert (figures.measured_tps, figures.server_tps, figures.prompt_tps) == (41.0, 42.0, 1000.0)


def test_without_server_statistics_the_rate_is_measured_and_labelled() -> None:
    figures = summarise([call("speed", measured_tps=30.0), call("speed", measured_tps=34.0),
                         call("speed", measured_tps=None)])
    assert (figures.generation_tps, figures.tps_source, figures.server_tps) == (32.0, "measured",
                                                                               None)
    assert figures.prompt_tps is None


def test_without_speed_calls_long_answers_give_the_rate() -> None:
    figures = summarise([call("instruct", measured_tps=20.0, output_tokens=16),
                         call("classify", measured_tps=90.0, output_tokens=2)])
    assert (figures.generation_tps, figures.tps_source) == (20.0, "measured")


def test_pass_rates_latency_and_quality_rates() -> None:
    calls = [
        call("speed", latency_ms=9000.0, finish_reason="length"),  # capped by design
        call("classify", latency_ms=100.0),
        call("classify", passed=False, latency_ms=300.0, think_leaked=True),
        call("classify", passed=False, latency_ms=2000.0, error_kind="timeout", answer=""),
        call("classify", passed=False, latency_ms=None, error_kind="skipped", answer=""),
        call("json", latency_ms=200.0, json_requested=True, json_valid=True),
        call("json", passed=False, latency_ms=400.0, json_requested=True, json_valid=False,
             finish_reason="length"),
        call("instruct", passed=False, latency_ms=500.0, answer="  "),
    ]
    figures = summarise(calls)
    assert figures.pass_rates == {"speed": 100.0, "classify": 25.0, "json": 50.0,
                                  "instruct": 0.0}
    assert (figures.calls, figures.errors) == (8, 2)
    assert figures.error_kinds == {"timeout": 1, "skipped": 1}
    # task latencies (speed and the never-sent call excluded): 100 300 2000 200 400 500
    assert (figures.latency_p50_ms, figures.latency_p95_ms) == (300.0, 2000.0)
    assert figures.json_valid_pct == 50.0
    assert figures.think_leak_pct == 100 / 6  # of the 6 answered calls
    assert figures.empty_or_truncated_pct == 200 / 6  # truncated json + blank instruct


def test_eligible_when_every_threshold_is_met() -> None:
    figures = summarise([call("classify"), call("json", json_requested=True, json_valid=True),
                         call("instruct")])
    haiku = DEFAULT_THRESHOLDS[0]
    assert judge(figures, haiku, is_local=True) == judge(figures, haiku, is_local=False)
    assert judge(figures, haiku, is_local=True).status == Status.ELIGIBLE
    assert judge(figures, haiku, is_local=True).summary() == "eligible for haiku"


def test_each_miss_is_a_reason_and_missing_categories_are_named() -> None:
    figures = summarise([
        call("classify", passed=False), call("classify"),
        call("json", json_requested=True, json_valid=False, passed=False, think_leaked=True),
        call("speed", latency_ms=50.0, error_kind="server_error", answer=""),
    ])
    verdict = judge(figures, Thresholds("haiku", {"classify": 90, "json": 90, "instruct": 80},
                                        min_json_valid_pct=95, max_think_leak_pct=0,
                                        max_error_pct=2, p95_latency_budget_ms=50,
                                        min_generation_tps=20),
                    is_local=True)
    assert verdict.status == Status.NOT_ELIGIBLE
    assert verdict.reasons == ("classify 50% < 90%", "json 0% < 90%", "JSON valid 0% < 95%",
                               "think leaks 33.33% > 0%", "errors 25% > 2%",
                               "p95 latency 100 ms > 50 ms", "instruct not run")


def test_incomplete_when_nothing_failed_but_a_required_category_was_not_run() -> None:
    verdict = judge(summarise([call("classify")]), DEFAULT_THRESHOLDS[0], is_local=True)
    assert (verdict.status, verdict.reasons) == (Status.INCOMPLETE,
                                                 ("json not run", "instruct not run"))
    assert verdict.summary() == "incomplete for haiku: json not run; instruct not run"


def test_opus_is_never_local() -> None:
    verdict = judge(summarise([call("classify")]), Thresholds("opus"), is_local=True)
    assert (verdict.status, verdict.summary()) == (Status.NEVER_LOCAL, "opus is never local")
    assert judge(summarise([call("classify")]), Thresholds("opus"), is_local=False).status == \
        Status.ELIGIBLE
