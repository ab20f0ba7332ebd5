"""A run's chart: pass rate per category (grouped bars per model) and generation tok/s.

Drawn by matplotlib from the export dict (`benchmarks.exports.run_export`), as
SVG (shown on the run's admin page) or PNG. Uses the object-oriented API on a
fresh Figure, never pyplot's global state: admin requests may render in threads.
"""

from __future__ import annotations

import io
from typing import Any

from benchmarks.report import columns

FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


def render(export: dict[str, Any], fmt: str = "svg") -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown chart format {fmt!r}; expected one of {', '.join(FORMATS)}")
    from matplotlib.figure import Figure  # imported here: ~0.3 s, only pages with charts pay

    results = export["results"]
    categories = columns(export["run"]["tasks"])
    names = [r["model"] for r in results]
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    passes, speed = figure.subplots(1, 2, width_ratios=[max(len(categories), 1) * 1.3, 2])

    width = 0.8 / max(len(results), 1)
    for i, result in enumerate(results):
        rates = [result["figures"]["pass_rates"].get(c) or 0.0 for c in categories]
        positions = [c + (i - (len(results) - 1) / 2) * width for c in range(len(categories))]
        bars = passes.bar(positions, rates, width, label=result["model"])
        passes.bar_label(bars, [f"{r:.0f}%" for r in rates], fontsize="small")
    passes.set_xticks(range(len(categories)), categories)
    passes.set_ylim(0, 110)
    passes.set_ylabel("pass rate (%)")
    passes.set_title(f"Run {export['run']['id']}: pass rate per category")
    if results:
        passes.legend(fontsize="small", loc="upper right")
    if not categories:
        passes.text(0.5, 0.5, "no task category run", ha="center", transform=passes.transAxes)

    values = [r["figures"]["generation_tps"] or 0.0 for r in results]
    errors = [r["figures"]["generation_tps_stddev"] or 0.0 for r in results]
    bars = speed.bar(range(len(results)), values, yerr=errors, capsize=4,
                     color=[f"C{i}" for i in range(len(results))])
    labels = [f"{v:.1f}\n({r['figures']['tps_source'] or 'n/a'})" if v else "n/a"
              for v, r in zip(values, results, strict=True)]
    speed.bar_label(bars, labels, fontsize="small")
    speed.set_xticks(range(len(results)), names, rotation=20, ha="right", fontsize="small")
    speed.set_ylabel("generation tokens/s")
    speed.set_title("Generation speed (mean ± sd)")
    speed.margins(y=0.25)

    out = io.BytesIO()
    figure.savefig(out, format=fmt, dpi=110, metadata={"Date": None} if fmt == "svg" else None)
    return out.getvalue()
