"""The fast path: N consecutive candidate failures roll a tier back at once.

Called right after a batch of metrics is stored (in-process by the recorder
thread, for remote clients by the metrics endpoint), so it counts across every
process from the metric stream, not per process. The rollback goes through
`actions.rollback` with the stage and status seen: when several processes
notice the same failures, the row lock lets the first roll back and the others
find the rollout changed, so exactly one Transition is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from canary import actions
from canary.models import RequestMetric, Rollout, RolloutStatus, RoutedTo, TransitionReason
from llmcontrol.client.metrics import CANCELLED, MetricRecord

logger = logging.getLogger(__name__)

ACTIVE = (RolloutStatus.ROLLING, RolloutStatus.PAUSED, RolloutStatus.COMPLETE)


def after_batch(records: Sequence[MetricRecord]) -> None:
    tiers = {r.tier for r in records
             if r.routed_to == RoutedTo.LOCAL and not r.success and r.error_type != CANCELLED}
    if tiers:
        check_consecutive_failures(tiers)


def check_consecutive_failures(tiers: Iterable[str]) -> list[str]:
    rolled_back = []
    for rollout in Rollout.objects.filter(tier__in=list(tiers), stage__gt=0, status__in=ACTIVE):
        limit = rollout.consecutive_failure_limit
        latest = list(
            RequestMetric.objects.filter(tier=rollout.tier, routed_to=RoutedTo.LOCAL,
                                         created_at__gte=rollout.stage_entered_at)
            # A caller that hung up says nothing about the local model: neither a
            # failure nor a success, so it neither counts nor breaks the run.
            .exclude(error_type=CANCELLED)
            .order_by("-created_at", "-pk")
            .values("success", "error_type", "provider", "model", "created_at")[:limit]
        )
        if len(latest) < limit or any(row["success"] for row in latest):
            continue
        evidence = {
            "verdict": "fail", "stage": rollout.stage,
            "summary": f"{limit} consecutive local failures: "
                       + ", ".join(row["error_type"] or "error" for row in reversed(latest)),
            "failures": [{**row, "created_at": row["created_at"].isoformat()}
                         for row in reversed(latest)],
            "limit": limit,
        }
        try:
            actions.rollback(rollout.tier, actor="fast-path",
                             expected=actions.Expected(rollout.stage, rollout.status),
                             reason=TransitionReason.CONSECUTIVE_FAILURES, evidence=evidence)
        except actions.RolloutRefused:
            continue  # another process rolled it back (or someone moved it) first
        logger.warning("%s rolled back: %s", rollout.tier, evidence["summary"])
        rolled_back.append(rollout.tier)
    return rolled_back
