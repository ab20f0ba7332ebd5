"""django-q2 task functions. Schedules are declared in `canary.schedules`."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from canary import actions
from canary.health import check_local_providers
from canary.models import MetricRollup, RequestMetric, Rollout

logger = logging.getLogger(__name__)


def evaluate_rollouts() -> dict[str, Any]:
    """Each minute: judge every rollout that has local traffic."""
    results = {}
    for tier in Rollout.objects.filter(stage__gt=0).values_list("tier", flat=True):
        result = actions.evaluate(tier, actor="scheduler")
        results[tier] = f"{result['verdict']}: {result['action']}"
    return results


def prune_metrics(keep_days: int | None = None) -> int:
    """Delete metric rows older than METRICS_RETENTION_DAYS, in bounded chunks, and
    per-minute rollups older than METRICS_ROLLUP_RETENTION_DAYS."""
    keep = keep_days if keep_days is not None else settings.METRICS_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=keep)
    rollup_cutoff = timezone.now() - timedelta(days=settings.METRICS_ROLLUP_RETENTION_DAYS)
    MetricRollup.objects.filter(minute__lt=rollup_cutoff).delete()
    deleted = 0
    while True:
        # Chunks keep each delete's locks and WAL short on a table with millions of rows.
        ids = list(RequestMetric.objects.filter(created_at__lt=cutoff)
                   .values_list("pk", flat=True)[:10_000])
        if not ids:
            return deleted
        deleted += RequestMetric.objects.filter(pk__in=ids).delete()[0]


def check_local_health() -> dict[str, bool]:
    return {h.provider.key: h.ok for h in check_local_providers()}
