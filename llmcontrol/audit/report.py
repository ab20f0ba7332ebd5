"""Summary, migration priority and savings estimate, as one plain dict with stable keys.

The JSON output is this dict; the table and Markdown renderers read the same dict, so
the three formats can never disagree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from llmcontrol.audit.models import CallSite, ScanResult

SCHEMA_VERSION = 1
TIER_ORDER = {"haiku": 0, "unknown": 1, "sonnet": 2, "opus": 3}
MTOK = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Assumptions:
    """What one call costs; `*_source` says where each figure came from."""

    calls_per_month: int = 1_000
    input_tokens_per_call: int = 1_200
    output_tokens_per_call: int = 300
    tokens_source: str = "default per call (no recorded haiku-tier averages)"
    input_price_per_mtok: Decimal = Decimal("0.80")
    output_price_per_mtok: Decimal = Decimal("4.00")
    price_source: str = "default haiku list price (no active cloud haiku model in the registry)"


def build_report(result: ScanResult, assumptions: Assumptions) -> dict[str, Any]:
    active = [s for s in result.sites if not s.archived]
    tiers = Counter(s.tier for s in active)
    summary = {
        "total_sites": len(result.sites),
        "active_sites": len(active),
        "archived_sites": len(result.sites) - len(active),
        "haiku_eligible": tiers["haiku"],
        "sonnet": tiers["sonnet"],
        "opus": tiers["opus"],
        "unknown": tiers["unknown"],
        "migrated": sum(s.migrated for s in active),
        "quick_wins": sum(s.is_quick_win for s in active),
        "already_local": sum(s.local for s in active),
        "streaming": sum(s.streaming for s in active),
        "files_scanned": result.files_scanned,
        "unparseable_files": len(result.unparseable),
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "root": result.root,
        "summary": summary,
        "by_sdk": dict(sorted(Counter(s.sdk for s in active).items())),
        "estimate": estimate(sum(s.would_move_local for s in active), assumptions),
        "priority": priority(result.sites),
        "sites": [site_dict(s) for s in result.sites],
        "unparseable": [asdict(u) for u in result.unparseable],
    }


def site_dict(site: CallSite) -> dict[str, Any]:
    return {
        "file": site.file, "line": site.line, "language": site.language, "sdk": site.sdk,
        "call": site.call, "model": site.model, "streaming": site.streaming,
        "archived": site.archived, "migrated": site.migrated, "local": site.local,
        "tier": site.tier,
        "tier_reason": site.tier_reason, "function": site.function,
        "function_lines": site.function_lines,
    }


def priority(sites: list[CallSite]) -> list[dict[str, Any]]:
    """What to migrate, quick wins first: haiku-eligible, then shortest enclosing function.

    Archived and already-migrated sites are left out; opus sites come last (migrating them
    to the client centralizes them, but they never go local).
    """
    todo = sorted((s for s in sites if not s.archived and not s.migrated),
                  key=lambda s: (TIER_ORDER[s.tier], s.function_lines, s.file, s.line))
    return [
        {"rank": rank, "file": s.file, "line": s.line, "sdk": s.sdk, "model": s.model,
         "tier": s.tier, "function": s.function, "function_lines": s.function_lines,
         "quick_win": s.is_quick_win}
        for rank, s in enumerate(todo, start=1)
    ]


def estimate(sites: int, a: Assumptions) -> dict[str, Any]:
    """Monthly tokens and cloud cost that would move local once the quick wins are migrated.

    `sites` counts the quick wins that call a cloud model today; one that already calls
    Ollama saves nothing by moving.
    """
    calls = sites * a.calls_per_month
    input_tokens = calls * a.input_tokens_per_call
    output_tokens = calls * a.output_tokens_per_call
    cost = (Decimal(input_tokens) * a.input_price_per_mtok
            + Decimal(output_tokens) * a.output_price_per_mtok) / MTOK
    return {
        "sites": sites,
        "calls_per_month_per_site": a.calls_per_month,
        "monthly_calls": calls,
        "input_tokens_per_call": a.input_tokens_per_call,
        "output_tokens_per_call": a.output_tokens_per_call,
        "tokens_source": a.tokens_source,
        "monthly_input_tokens": input_tokens,
        "monthly_output_tokens": output_tokens,
        "monthly_tokens": input_tokens + output_tokens,
        "input_price_per_mtok": str(a.input_price_per_mtok),
        "output_price_per_mtok": str(a.output_price_per_mtok),
        "price_source": a.price_source,
        "monthly_cost_usd": str(cost.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)),
    }
