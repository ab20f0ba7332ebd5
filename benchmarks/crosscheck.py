"""Cross-check measured generation rates against llama.cpp's own timings.

llama-cpp-python's server reports no timings in its API, but with `--verbose
true` it prints llama.cpp's per-request performance block to its log:

    llama_perf_context_print:        eval time =  3444.47 ms /   114 runs   (...)

This script pairs those blocks, in order, with the calls of a benchmark export
(the run's warm-up is the first request) and prints, per call, the rate measured
from the stream next to the server's decode rate (runs / eval time). Plain
Python, no Django:

    python -m benchmarks.crosscheck SERVER.log RUN.json [--category speed]

It only makes sense when the benchmark was the server's only client.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from benchmarks.stats import mean

EVAL = re.compile(r"^llama_perf_context_print:\s+eval time =\s+([\d.]+) ms /\s+(\d+) runs", re.M)


def server_rates(log_text: str) -> list[float | None]:
    """Decode tokens/s of each request, in order (None for a request that decoded nothing)."""
    rates: list[float | None] = []
    for millis, runs in EVAL.findall(log_text):
        rates.append(int(runs) / float(millis) * 1000 if float(millis) > 0 else None)
    return rates


def pair(export: dict[str, Any], rates: list[float | None],
         category: str) -> list[tuple[str, float, float]]:
    calls = [c for result in export["results"] for c in result["calls"]]
    warm_ups = len(export["results"])
    if len(rates) != warm_ups + len(calls):
        raise SystemExit(f"the log has {len(rates)} requests, the run {warm_ups} warm-up(s) and "
                         f"{len(calls)} calls: was the server shared?")
    pairs = []
    rates = rates[1:]  # one model per run here: its warm-up was the first request
    for call, server in zip(calls, rates, strict=True):
        if call["category"] == category and call["measured_tps"] and server:
            pairs.append((f"{call['case_key']} #{call['iteration'] + 1}", call["measured_tps"],
                          server))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("export", type=Path)
    parser.add_argument("--category", default="speed")
    options = parser.parse_args()
    export = json.loads(options.export.read_text())
    if len(export["results"]) != 1:
        raise SystemExit("cross-check a run of one model")
    pairs = pair(export, server_rates(options.log.read_text(errors="replace")), options.category)
    print("| call | measured tok/s | server decode tok/s | measured / server |")
    print("| --- | --- | --- | --- |")
    for name, measured, server in pairs:
        print(f"| {name} | {measured:.1f} | {server:.1f} | {measured / server:.3f} |")
    ratios = [m / s for _, m, s in pairs]
    print(f"\nmean measured {mean([m for _, m, _ in pairs]) or 0:.2f} tok/s, mean server "
          f"{mean([s for _, _, s in pairs]) or 0:.2f} tok/s, mean ratio {mean(ratios) or 0:.3f} "
          f"over {len(pairs)} calls")


if __name__ == "__main__":
    main()
