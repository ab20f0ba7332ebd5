"""A stored run as plain data: the JSON export, and the input of reports and charts."""

from __future__ import annotations

from typing import Any

from benchmarks.models import BenchmarkCall, BenchmarkResult, BenchmarkRun

FIGURES = ("calls", "errors", "error_kinds", "generation_tps", "generation_tps_stddev",
           "tps_source", "tps_samples", "measured_tps", "server_tps", "prompt_tps", "ttft_ms",
           "ttfat_ms", "latency_p50_ms", "latency_p95_ms", "pass_rates", "json_valid_pct",
           "think_leak_pct", "empty_or_truncated_pct")
CALL_FIELDS = ("case_key", "category", "iteration", "passed", "reason", "error_kind", "answer",
               "latency_ms", "ttft_ms", "ttfat_ms", "input_tokens", "output_tokens",
               "measured_tps", "server_tps", "think_leaked", "json_valid", "finish_reason")


def run_export(run: BenchmarkRun, *, calls: bool = True) -> dict[str, Any]:
    results = list(run.results.order_by("pk"))
    by_result: dict[int, list[BenchmarkCall]] = {r.pk: [] for r in results}
    if calls:
        for call in BenchmarkCall.objects.filter(result__run=run).order_by("pk"):
            by_result[call.result_id].append(call)
    return {
        "run": {
            "id": run.pk, "status": run.status, "actor": run.actor,
            "created_at": run.created_at.isoformat(),
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "models": run.model_refs, "tasks": run.tasks, "iterations": run.iterations,
            "compare_to": run.compare_to, "timeout_s": run.timeout_s, "machine": run.machine,
            "error": run.error,
        },
        "results": [result_export(r, by_result[r.pk] if calls else None) for r in results],
    }


def result_export(result: BenchmarkResult,
                  calls: list[BenchmarkCall] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "model": result.model_ref, "tier": result.tier, "is_local": result.is_local,
        "is_baseline": result.is_baseline,
        "warm_up": {"latency_ms": result.warm_up_ms, "error": result.warm_up_error},
        "figures": {name: getattr(result, name) for name in FIGURES},
        "verdict": {"tier": result.tier, "status": result.verdict,
                    "reasons": result.verdict_reasons},
        "verdicts": result.verdicts,
    }
    if calls is not None:
        data["calls"] = [{name: getattr(c, name) for name in CALL_FIELDS} for c in calls]
    return data
