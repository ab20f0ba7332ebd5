"""Look-ups other apps read: the latest benchmark verdict of registry models."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from benchmarks.models import BenchmarkResult


def with_latest_verdict(models: QuerySet[Any]) -> QuerySet[Any]:
    """Annotate registry Model rows with their latest benchmark result: `benchmark_verdict`,
    `benchmark_tier` and `benchmark_result_id` (None when never benchmarked).
    Correlated subqueries on the (model, -created_at) index: no query per row."""
    latest = BenchmarkResult.objects.filter(model=OuterRef("pk")).order_by("-created_at", "-pk")
    return models.annotate(
        benchmark_verdict=Subquery(latest.values("verdict")[:1]),
        benchmark_tier=Subquery(latest.values("tier")[:1]),
        benchmark_result_id=Subquery(latest.values("pk")[:1]),
    )


def verdict_link(model: Any) -> str:
    """The annotated verdict as a link to its result page, for the registry admin."""
    from django.urls import reverse
    from django.utils.html import format_html

    from benchmarks.models import Verdicts

    result_id = getattr(model, "benchmark_result_id", None)
    if result_id is None:
        return "not benchmarked"
    verdict = getattr(model, "benchmark_verdict", "") or ""
    label = Verdicts(verdict).label if verdict in Verdicts.values else "no verdict"
    tier = getattr(model, "benchmark_tier", "") or ""
    return format_html('<a href="{}">{}{}</a>',
                       reverse("admin:benchmarks_benchmarkresult_change", args=[result_id]),
                       label, f" ({tier})" if tier else "")
