"""Storing metric batches posted by remote clients: whole or not at all, and once per batch id."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from canary.fastpath import after_batch
from canary.recorder import DatabaseSink
from llmcontrol.client.metrics import MetricRecord
from registry.models import ReceivedMetricBatch

logger = logging.getLogger(__name__)


def store_batch(batch_id: str, records: Sequence[MetricRecord], *, api_key_id: int | None,
                source: str) -> int | None:
    """Store the batch; how many records were new, or None (and nothing written) when this
    batch id was stored before.

    The batch id row and the metric rows commit together. Two concurrent posts of
    the same batch meet at the batch id's unique index: the second waits for the
    first to commit, then fails its insert and is answered as a duplicate. A client
    whose reply was lost sends its records again, maybe with more under a new id: the
    records already stored (same request id and attempt) are skipped.
    """
    try:
        with transaction.atomic():
            ReceivedMetricBatch.objects.create(batch_id=batch_id, api_key_id=api_key_id,
                                               records=len(records))
            stored = DatabaseSink(source=source, resent=True).write(records)
    except IntegrityError:
        if ReceivedMetricBatch.objects.filter(batch_id=batch_id).exists():
            return None
        raise
    try:
        after_batch(records)  # N consecutive local failures roll the tier back at once
    except Exception:  # the batch is stored; a failed check must not make the client resend it
        logger.exception("consecutive-failure check after batch %s failed", batch_id)
    return stored


def prune_received_batches(now: datetime | None = None) -> int:
    """Forget batch ids older than the metric retention (their metrics are pruned too)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.METRICS_RETENTION_DAYS)
    count, _ = ReceivedMetricBatch.objects.filter(received_at__lt=cutoff).delete()
    return count
