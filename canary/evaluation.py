"""Gate evidence from the metric table: a few aggregate queries per arm, then the pure gates.

Read-only. `canary.actions` turns a verdict into a state change.

Arms: the candidate is the tier's local attempts at the current stage; the
baseline is the tier's cloud attempts (first route, not fallbacks) over the
same period. The period is the whole stage so far, [stage start, now): the
gates' confidence sequences are valid at every look only over data that keeps
accumulating from one start; a sliding window would re-spend their error
budget every time it slides (docs/canary.md).

The counts come from the per-minute rollups (`canary.rollups`), one query per
arm whatever the traffic: a day-old stage is 1,440 rows per arm. Latency
quantiles come from the rollups' histograms, within one 5% bucket.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from canary import gates, rollups
from canary.models import MetricRollup, Rollout, RoutedTo

ARM_FIELDS = ("requests", "errors", "timeouts", "json_requested", "json_invalid",
              "think_leaks", "empty_or_truncated")


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


def arm_filters(rollout: Rollout, since: Any, until: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Rollup filters of the candidate and the baseline arm (tier, arm, time: the
    rollup_tier_arm_minute index)."""
    common = {"tier": rollout.tier, "minute__gte": since.replace(second=0, microsecond=0),
              "minute__lt": until}
    candidate = {**common, "routed_to": RoutedTo.LOCAL, "stage": rollout.stage}
    baseline = {**common, "routed_to": RoutedTo.CLOUD}
    if rollout.candidate_id:
        candidate["model"] = rollout.candidate.model_key
    if rollout.baseline_id:
        baseline["model"] = rollout.baseline.model_key
    return candidate, baseline


COLUMNS = {"tier": "tier = %s", "routed_to": "routed_to = %s", "stage": "stage = %s",
           "model": "model = %s", "minute__gte": "minute >= %s", "minute__lt": "minute < %s"}


def _summed(filters: dict[str, Any]) -> tuple[dict[str, int], list[tuple[int, int]]]:
    """One arm's counts summed over its rollup rows, and their latency histograms merged."""
    qs = MetricRollup.objects.filter(**filters)
    row = qs.aggregate(**{f"n_{name}": Sum(name) for name in ARM_FIELDS})
    totals = {name: row[f"n_{name}"] or 0 for name in ARM_FIELDS}
    if connection.vendor != "postgresql":
        return totals, rollups.merge_histograms(qs.values_list("latency_histogram", flat=True))
    # Merged by the database: a week-old stage is ~10,000 rows per arm, and shipping
    # their histograms to Python would cost more than everything else together.
    where = " AND ".join(COLUMNS[name] for name in filters)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT h.key::int, sum(h.value::bigint) FROM canary_metricrollup AS r, "
            f"jsonb_each_text(r.latency_histogram) AS h WHERE {where} GROUP BY 1 ORDER BY 1",
            list(filters.values()),
        )
        return totals, [(int(key), int(count)) for key, count in cursor.fetchall()]


def collect(rollout: Rollout, now: Any = None) -> tuple[gates.ArmCounts, gates.ArmCounts, Any]:
    settings = gate_settings(rollout)
    since, until = rollout.stage_entered_at, now or timezone.now()
    candidate_filters, baseline_filters = arm_filters(rollout, since, until)
    quantile = settings.latency_quantile
    base, base_buckets = _summed(baseline_filters)
    baseline = gates.ArmCounts(
        **base,
        p95_latency_ms=rollups.quantile(base_buckets, quantile),
        p95_upper_latency_ms=rollups.value_at_rank(
            base_buckets, gates.p95_upper_rank(base["requests"] - base["errors"], settings)
        ),
    )
    threshold = gates.latency_threshold_ms(baseline, settings)
    cand, cand_buckets = _summed(candidate_filters)
    candidate = gates.ArmCounts(
        **cand,
        p95_latency_ms=rollups.quantile(cand_buckets, quantile),
        slow_successes=None if threshold is None else rollups.count_above(cand_buckets, threshold),
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
