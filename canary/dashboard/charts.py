"""The tier's charts as one SVG: volume, error rate, latency and answer quality over time.

Drawn by matplotlib on a fresh Figure per call (never pyplot's global state:
admin requests may render in threads), with text kept as SVG text so the file
stays small and readable. Stage changes are vertical lines on every panel,
labelled with their reason on the first.
"""

from __future__ import annotations

import gc
import io
import math
from collections.abc import Sequence
from typing import Any

from canary.dashboard.series import Series

COLOURS = {"local": "#1f77b4", "cloud": "#ff7f0e", "fallback": "#2ca02c"}
# Grid from the style, titles as plain text: `axes.grid()` rebuilds every tick and `set_title`
# lays the axes out again to place it, together about a third of the drawing time.
STYLE = {"svg.fonttype": "none", "font.size": 9, "axes.grid": True, "grid.alpha": 0.25,
         "axes.spines.top": False, "axes.spines.right": False, "svg.hashsalt": "llmcontrol"}


def render_svg(series: Series) -> str:
    """The four panels as an inline SVG element (no XML prolog)."""
    # A figure is ~30,000 objects in reference cycles. Left to the collector they reach
    # the oldest generation, and every few pages a full collection of the whole process
    # costs ~150 ms. Collected young, right after drawing, they cost ~10 ms.
    enabled = gc.isenabled()
    gc.disable()
    try:
        svg = _draw(series)
    finally:
        if enabled:
            gc.enable()
    gc.collect(1)
    return svg


def _draw(series: Series) -> str:
    import matplotlib  # imported here: ~0.5 s once per process, only chart pages pay it
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(11, 9.5))
        volume, errors, latency, quality = figure.subplots(4, 1, sharex=True)
        times = date2num(series.times)  # converted once, not once per line
        for arm in ("local", "cloud", "fallback"):
            volume.plot(times, series.requests[arm], color=COLOURS[arm], label=arm, linewidth=1.4)
        for arm in ("local", "cloud"):
            colour = COLOURS[arm]
            _line(errors, times, _percent(series.error_rate[arm]), colour)
            _line(latency, times, _values(series.p50_ms[arm]), colour)
            _line(latency, times, _values(series.p95_ms[arm]), colour, "--")
            _line(quality, times, _percent(series.json_invalid_rate[arm]), colour)
            _line(quality, times, _percent(series.think_leak_rate[arm]), colour, ":")
        _title(volume, f"Requests per {series.window.unit}")
        _title(errors, "Error rate (%)")
        _title(latency, "Latency of successes (ms): p50 solid, p95 dashed")
        _title(quality, "JSON invalid, of JSON answers (%, solid); think leaks (%, dotted)")
        # One legend for the figure: colour is the arm on every panel.
        figure.legend(loc="upper right", ncols=3, frameon=False, fontsize="small")
        for axes in (volume, errors, latency, quality):
            axes.set_xlim(series.start, series.end)
            highest = axes.dataLim.y1  # -inf when the panel has no data at all
            axes.set_ylim(0, highest * 1.15 if math.isfinite(highest) and highest > 0 else 1)
            axes.yaxis.set_major_locator(MaxNLocator(3))
            for marker in series.markers:
                axes.axvline(marker.at, color="#555", linestyle=":", linewidth=1)
        for marker in series.markers:
            volume.annotate(_plain(marker.label), (marker.at, 1),
                            xycoords=("data", "axes fraction"), rotation=90, va="top",
                            ha="right", fontsize=7.5, color="#333")
        locator = AutoDateLocator(maxticks=8)
        quality.xaxis.set_major_locator(locator)
        quality.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        figure.subplots_adjust(left=0.06, right=0.99, top=0.96, bottom=0.05, hspace=0.3)
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    return svg[svg.index("<svg"):]


def _title(axes: Any, text: str) -> None:
    axes.text(0, 1.04, text, transform=axes.transAxes, fontsize=10, fontweight="bold")


def _line(axes: Any, times: Any, values: list[float], colour: str, style: str = "-") -> None:
    """A line with gaps where an arm had no traffic; a bucket alone between gaps would
    draw nothing as a line, so those get a dot."""
    axes.plot(times, values, color=colour, linewidth=1.4, linestyle=style)
    alone = [i for i, v in enumerate(values) if not math.isnan(v)
             and (i == 0 or math.isnan(values[i - 1]))
             and (i == len(values) - 1 or math.isnan(values[i + 1]))]
    if alone:
        axes.plot([times[i] for i in alone], [values[i] for i in alone], color=colour,
                  linestyle="none", marker="o", markersize=3)


def _values(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]


def _percent(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else v * 100 for v in values]


def _plain(text: str) -> str:
    # matplotlib reads $…$ as mathematics.
    return text.replace("$", r"\$")
