"""Pairing llama.cpp's logged decode timings with a run's calls."""

from __future__ import annotations

import pytest

from benchmarks.crosscheck import pair, server_rates

BLOCK = """llama_perf_context_print: prompt eval time =       0.06 ms /    48 tokens
llama_perf_context_print:        eval time =     {ms} ms /   {runs} runs   (   30.21 ms per token)
llama_perf_context_print:       total time =    4272.15 ms /   162 tokens
"""


def call(key: str, category: str, measured: float | None) -> dict:
    return {"case_key": key, "category": category, "iteration": 0, "measured_tps": measured}


def test_rates_are_paired_in_request_order_after_the_warm_up() -> None:
    log = "INFO: noise\n" + BLOCK.format(ms="200.00", runs=7) + \
        BLOCK.format(ms="4000.00", runs=120) + BLOCK.format(ms="100.00", runs=2) + \
        BLOCK.format(ms="2000.00", runs=60)
    assert server_rates(log) == [35.0, 30.0, 20.0, 30.0]
    export = {"results": [{"calls": [call("speed-a", "speed", 27.0),
                                     call("classify-a", "classify", 10.0),
                                     call("speed-b", "speed", 33.0)]}]}
    assert pair(export, server_rates(log), "speed") == [("speed-a #1", 27.0, 30.0),
                                                        ("speed-b #1", 33.0, 30.0)]


def test_a_log_that_does_not_match_the_run_is_refused() -> None:
    export = {"results": [{"calls": [call("speed-a", "speed", 27.0)]}]}
    with pytest.raises(SystemExit, match="the log has 1 requests, the run 1 warm-up"):
        pair(export, [30.0], "speed")
