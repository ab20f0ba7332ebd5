"""The report dict as a terminal table, as JSON, or as Markdown for a planning doc."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

SUMMARY_ROWS = (
    ("call sites", "total_sites"),
    ("haiku-eligible", "haiku_eligible"),
    ("sonnet", "sonnet"),
    ("opus", "opus"),
    ("unknown", "unknown"),
    ("already migrated", "migrated"),
    ("archived", "archived_sites"),
)


def render(report: dict[str, Any], output_format: str) -> str:
    if output_format == "json":
        return json.dumps(report, indent=2) + "\n"
    if output_format == "markdown":
        return render_markdown(report)
    return render_table(report)


def _money(value: str) -> str:
    return f"${Decimal(value):,.2f}"


def _site_ref(row: dict[str, Any]) -> str:
    return f"{row['file']}:{row['line']}"


def _flags(site: dict[str, Any]) -> str:
    flags = [name for name in ("streaming", "local", "archived", "migrated") if site[name]]
    return ",".join(flags) or "-"


def _estimate_lines(e: dict[str, Any]) -> list[str]:
    return [
        f"{e['sites']} haiku-eligible cloud call sites not yet migrated x "
        f"{e['calls_per_month_per_site']:,} calls/month x "
        f"({e['input_tokens_per_call']:,} input + {e['output_tokens_per_call']:,} output tokens)"
        f" = {e['monthly_tokens']:,} tokens/month",
        f"about {_money(e['monthly_cost_usd'])}/month of cloud spend at "
        f"{_money(e['input_price_per_mtok'])}/M input and "
        f"{_money(e['output_price_per_mtok'])}/M output tokens",
        f"tokens per call: {e['tokens_source']}",
        f"price: {e['price_source']}",
    ]


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]


def render_table(report: dict[str, Any]) -> str:
    s = report["summary"]
    lines = [
        f"LLM call-site audit of {report['root']}",
        f"files scanned: {s['files_scanned']}; unparseable (skipped): {s['unparseable_files']}",
        "",
    ]
    lines += ["  " + row for row in _columns(
        [[label, str(s[key])] for label, key in SUMMARY_ROWS])]
    lines.append(f"  (tiers and 'already migrated' count the {s['active_sites']} "
                 "non-archived sites)")
    lines += ["", "Would move local:"] + ["  " + line for line in _estimate_lines(
        report["estimate"])]
    if report["priority"]:
        lines += ["", "Migration priority (quick wins first):"]
        rows = [["#", "tier", "site", "sdk", "model", "lines", "function"]]
        rows += [[str(p["rank"]), p["tier"] + ("*" if p["quick_win"] else ""), _site_ref(p),
                  p["sdk"], p["model"] or "-", str(p["function_lines"]), p["function"] or "-"]
                 for p in report["priority"]]
        lines += ["  " + row for row in _columns(rows)]
        lines.append("  * quick win: haiku-eligible, not archived, not migrated")
    if report["sites"]:
        lines += ["", "All call sites:"]
        rows = [["site", "sdk", "model", "tier", "flags", "reason"]]
        rows += [[_site_ref(x), x["sdk"], x["model"] or "-", x["tier"], _flags(x),
                  x["tier_reason"]] for x in report["sites"]]
        lines += ["  " + row for row in _columns(rows)]
    if report["unparseable"]:
        lines += ["", "Unparseable files (skipped):"]
        lines += [f"  {u['file']}: {u['error']}" for u in report["unparseable"]]
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return out


def render_markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    lines = [
        "# LLM call-site audit",
        "",
        f"Scanned `{report['root']}`. Files scanned: {s['files_scanned']}; "
        f"unparseable (skipped): {s['unparseable_files']}.",
        "",
        "## Summary",
        "",
    ]
    lines += _md_table(["", "sites"], [[label, s[key]] for label, key in SUMMARY_ROWS])
    lines += ["", f"Tiers and *already migrated* count the {s['active_sites']} non-archived "
              "sites; archived sites are counted separately.", "",
              "## Tokens and cost that would move local", ""]
    lines += [f"- {line}" for line in _estimate_lines(report["estimate"])]
    lines += ["", "## Migration priority", "",
              "Quick wins first: haiku-eligible, not archived, not migrated, shortest "
              "enclosing function.", ""]
    lines += _md_table(
        ["#", "tier", "site", "sdk", "model", "function", "lines", "quick win"],
        [[p["rank"], p["tier"], f"`{_site_ref(p)}`", p["sdk"], p["model"] or "",
          p["function"] or "", p["function_lines"], "yes" if p["quick_win"] else ""]
         for p in report["priority"]],
    )
    lines += ["", "## All call sites", ""]
    lines += _md_table(
        ["site", "sdk", "model", "tier", "streaming", "local", "archived", "migrated",
         "why this tier"],
        [[f"`{_site_ref(x)}`", x["sdk"], x["model"] or "", x["tier"],
          *("yes" if x[flag] else "" for flag in ("streaming", "local", "archived", "migrated")),
          x["tier_reason"]] for x in report["sites"]],
    )
    if report["unparseable"]:
        lines += ["", "## Unparseable files (skipped)", ""]
        lines += [f"- `{u['file']}`: {u['error']}" for u in report["unparseable"]]
    return "\n".join(lines) + "\n"
