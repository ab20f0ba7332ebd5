"""Benchmark results as text: the final table, the comparison, the Markdown history.

Plain Python, no Django: everything here reads the export dicts built by
`benchmarks.exports` (the same shape as `manage.py benchmark --output`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.runner import CATEGORIES

VERDICT_WORDS = {"eligible": "eligible", "not_eligible": "not eligible",
                 "incomplete": "incomplete", "never_local": "never local",
                 "no_policy": "no thresholds"}


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} ms" if value < 10_000 else f"{value / 1000:.1f} s"


def tps(figures: dict[str, Any]) -> str:
    value = figures.get("generation_tps")
    if value is None:
        return "—"
    spread = figures.get("generation_tps_stddev")
    text = f"{value:.1f}" + (f" ± {spread:.1f}" if spread is not None else "")
    return f"{text} ({figures.get('tps_source') or '?'})"


def verdict_text(result: dict[str, Any]) -> str:
    own = result.get("verdict") or {}
    if own.get("status"):
        word = VERDICT_WORDS.get(own["status"], own["status"])
        return f"{word} ({own['tier']})" if own.get("tier") else word
    eligible = [tier for tier, v in (result.get("verdicts") or {}).items()
                if v["status"] == "eligible"]
    return f"eligible: {', '.join(eligible)}" if eligible else "not registered; eligible: none"


def columns(tasks: Sequence[str]) -> list[str]:
    return [c for c in CATEGORIES if c in tasks and c != "speed"]


def results_table(results: Sequence[dict[str, Any]], tasks: Sequence[str]) -> str:
    """The seed's table (model, tok/s, classify, JSON, instruct, leaks, verdict) with
    the figures it lacked: time to first answer token, p95 latency, JSON validity,
    empty/truncated answers and errors."""
    categories = columns(tasks)
    head = ["model", "tok/s", "1st answer p50", "p95 latency", *categories, "JSON valid",
            "leaks", "empty/trunc.", "errors", "verdict"]
    rows = [head, ["---"] * len(head)]
    for r in results:
        f = r["figures"]
        name = f"{r['model']} (baseline)" if r.get("is_baseline") else r["model"]
        rows.append([name, tps(f), ms(f["ttfat_ms"]), ms(f["latency_p95_ms"]),
                     *[pct(f["pass_rates"].get(c)) for c in categories],
                     pct(f["json_valid_pct"]), pct(f["think_leak_pct"]),
                     pct(f["empty_or_truncated_pct"]), f"{f['errors']}/{f['calls']}",
                     verdict_text(r)])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def comparison(results: Sequence[dict[str, Any]], tasks: Sequence[str]) -> str:
    """Each model against the --compare-to baseline: pass-rate points and speed ratios."""
    baseline = next((r for r in results if r.get("is_baseline")), None)
    if baseline is None:
        return ""
    base = baseline["figures"]
    lines = [f"Compared with {baseline['model']}:"]
    for r in results:
        if r is baseline:
            continue
        f, parts = r["figures"], []
        for category in columns(tasks):
            mine, theirs = f["pass_rates"].get(category), base["pass_rates"].get(category)
            if mine is not None and theirs is not None:
                parts.append(f"{category} {mine - theirs:+.0f} pts")
        for name, key in (("tok/s", "generation_tps"), ("p95 latency", "latency_p95_ms")):
            if f.get(key) and base.get(key):
                parts.append(f"{name} ×{f[key] / base[key]:.2f}")
        lines.append(f"  {r['model']}: {', '.join(parts) or 'nothing comparable'}")
    return "\n".join(lines)


def history_markdown(runs: Sequence[dict[str, Any]]) -> str:
    """The seed's BENCHMARK_HISTORY.md: newest run first, one table per run."""
    out = ["# Benchmark history", "",
           "Written by `manage.py benchmark_history` from the stored runs; newest first.",
           "Figures are explained in docs/model-benchmarks.md.", ""]
    if not runs:
        out.append("No benchmark run is stored yet.")
    for export in runs:
        run = export["run"]
        out += [f"## Run {run['id']} — {run['created_at'][:16].replace('T', ' ')} "
                f"({run['status']})", "",
                f"- tasks: {', '.join(run['tasks'])}; iterations: {run['iterations']}; "
                f"per-case timeout: {run['timeout_s']:g} s",
                f"- started by: {run['actor']}; machine: {run['machine'] or 'unknown'}"]
        if run.get("compare_to"):
            out.append(f"- compared with: {run['compare_to']}")
        if run.get("error"):
            out.append(f"- error: {run['error']}")
        out.append("")
        if export["results"]:
            out += [results_table(export["results"], run["tasks"]), ""]
            reasons = [f"- {r['model']}: {'; '.join(r['verdict']['reasons'])}"
                       for r in export["results"] if r["verdict"].get("reasons")]
            if reasons:
                out += ["Verdict reasons:", "", *reasons, ""]
            if text := comparison(export["results"], run["tasks"]):
                out += ["```", text, "```", ""]
        else:
            out += ["No result stored.", ""]
    return "\n".join(out).rstrip() + "\n"
