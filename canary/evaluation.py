"""Gate evidence from the metric table: a few aggregate queries per arm, then the pure gates.

Read-only. `canary.actions` turns a verdict into a state change.

Arms: the candidate is the tier's local attempts at the current stage; the
baseline is the tier's cloud attempts (first route, not fallbacks) over the
same period. The period is the whole stage so far, [stage start, now): the
gates' confidence sequences are valid at every look only over data that keeps
accumulating from one start; a sliding window would re-spend their error
budget every time it slides (docs/canary.md). Every query has the same upper
bound `now`, so counts and rank look-ups see the same rows.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from canary import gates
from canary.models import RequestMetric, Rollout, RoutedTo

SUCCESS = Q(success=True)


def gate_settings(rollout: Rollout) -> gates.GateSettings:
    return gates.GateSettings(
        error_rate_ceiling=rollout.error_rate_ceiling,
        error_rate_margin=rollout.baseline_error_margin,
        latency_multiplier=rollout.latency_multiplier,
        json_invalid_ceiling=rollout.json_invalid_ceiling,
        think_leak_ceiling=rollout.think_leak_ceiling,
        empty_or_truncated_ceiling=rollout.empty_answer_ceiling,
        min_samples=rollout.min_samples,
    )


def arm_querysets(
    rollout: Rollout, since: Any, until: Any
) -> tuple[QuerySet[RequestMetric], QuerySet[RequestMetric]]:
    # Both filter (tier, routed_to, created_at): the metric_tier_arm_time index.
    rows = RequestMetric.objects.filter(
        tier=rollout.tier, created_at__gte=since, created_at__lt=until
    )
    candidate = rows.filter(routed_to=RoutedTo.LOCAL, stage=rollout.stage)
    baseline = rows.filter(routed_to=RoutedTo.CLOUD)
    if rollout.candidate_id:
        candidate = candidate.filter(model=rollout.candidate.model_key)
    if rollout.baseline_id:
        baseline = baseline.filter(model=rollout.baseline.model_key)
    return candidate, baseline


def _aggregate(qs: QuerySet[RequestMetric], slower_than: float | None = None) -> dict[str, int]:
    counts = {
        "requests": Count("pk"),
        "errors": Count("pk", filter=Q(success=False)),
        "json_requested": Count("pk", filter=SUCCESS & Q(json_requested=True)),
        "json_invalid": Count("pk", filter=SUCCESS & Q(json_requested=True, json_valid=False)),
        "think_leaks": Count("pk", filter=SUCCESS & Q(think_leaked=True)),
        "empty_or_truncated": Count(
            "pk", filter=SUCCESS & (Q(empty_answer=True) | Q(finish_reason="length"))
        ),
    }
    if slower_than is not None:
        counts["slow_successes"] = Count("pk", filter=SUCCESS & Q(latency_ms__gt=slower_than))
    # Aliases must not shadow field names (json_requested is both), hence the prefix.
    row = qs.aggregate(**{f"n_{name}": expr for name, expr in counts.items()})
    return {name: row[f"n_{name}"] for name in counts}


def _latency_at_rank(qs: QuerySet[RequestMetric], rank: int | None) -> float | None:
    """The rank-th fastest success (1-based); portable (PostgreSQL and SQLite)."""
    if not rank:
        return None
    return (
        qs.filter(success=True)
        .order_by("latency_ms")
        .values_list("latency_ms", flat=True)[rank - 1 : rank]
        .first()
    )


def _p95(qs: QuerySet[RequestMetric], successes: int, quantile: float) -> float | None:
    return _latency_at_rank(qs, math.ceil(quantile * successes) if successes else None)


def collect(rollout: Rollout, now: Any = None) -> tuple[gates.ArmCounts, gates.ArmCounts, Any]:
    settings = gate_settings(rollout)
    since, until = rollout.stage_entered_at, now or timezone.now()
    candidate_qs, baseline_qs = arm_querysets(rollout, since, until)
    quantile = settings.latency_quantile
    base = _aggregate(baseline_qs)
    base_successes = base["requests"] - base["errors"]
    baseline = gates.ArmCounts(
        **base,
        p95_latency_ms=_p95(baseline_qs, base_successes, quantile),
        p95_upper_latency_ms=_latency_at_rank(
            baseline_qs, gates.p95_upper_rank(base_successes, settings)
        ),
    )
    threshold = gates.latency_threshold_ms(baseline, settings)
    cand = _aggregate(candidate_qs, slower_than=threshold)
    candidate = gates.ArmCounts(
        **cand, p95_latency_ms=_p95(candidate_qs, cand["requests"] - cand["errors"], quantile)
    )
    return candidate, baseline, since


def gate_evidence(rollout: Rollout, now: Any = None) -> dict[str, Any]:
    """The gates' verdict at the rollout's current stage, as stored in a Transition."""
    candidate, baseline, since = collect(rollout, now)
    evaluation = gates.evaluate(candidate, baseline, gate_settings(rollout))
    return {**evaluation.to_dict(), "stage": rollout.stage, "since": since.isoformat()}


def health_evidence(rollout: Rollout) -> dict[str, Any]:
    """Stage 0 has no candidate traffic: the local provider's health stands in for the gates."""
    from canary.health import check_provider
    from registry.models import Model

    if rollout.candidate_id:
        provider_keys = [rollout.candidate.provider.key]
    else:
        provider_keys = sorted(
            set(
                Model.objects.active()
                .filter(tier=rollout.tier, provider__is_local=True, provider__enabled=True)
                .values_list("provider__key", flat=True)
            )
        )
    if not provider_keys:
        return {
            "verdict": "fail",
            "stage": rollout.stage,
            "gates": [],
            "summary": f"no active local {rollout.tier} model to send traffic to",
        }
    checks = [check_provider(key) for key in provider_keys]
    healthy = [h for h in checks if h.ok]
    lines = [
        f"{h.provider.key} {'healthy' if h.ok else 'down'}: {h.detail} ({h.latency_ms:.0f} ms)"
        for h in checks
    ]
    return {
        "verdict": "pass" if healthy else "fail",
        "stage": rollout.stage,
        "summary": "; ".join(lines),
        "gates": [],
        "health": [
            {
                "provider": h.provider.key,
                "ok": h.ok,
                "detail": h.detail,
                "models": h.models_available,
                "loaded": h.models_loaded,
            }
            for h in checks
        ],
    }


def advance_evidence(tier: str) -> dict[str, Any]:
    rollout = Rollout.objects.select_related("candidate__provider", "baseline").get(tier=tier)
    if rollout.stage == 0:
        return health_evidence(rollout)
    return gate_evidence(rollout)
