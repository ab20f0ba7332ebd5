"""The metric sink: RequestMetric rows and their per-minute rollups, in one transaction.

In-process the recorder thread writes batches through it; the metrics endpoint
writes remote clients' batches through it too."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction

from canary import rollups
from canary.fastpath import after_batch
from canary.models import MetricLoss, RequestMetric
from llmcontrol.client.metrics import BatchingRecorder, MetricRecord, RejectedBatch

FIELDS = [f.name for f in RequestMetric._meta.concrete_fields if f.name not in ("id", "source")]


class DatabaseSink:
    """`resent`: the records may have been stored before (a remote client's batch: its
    reply may have been lost, and the retry may hold more records under a new batch id)."""

    def __init__(self, source: str = "", *, resent: bool = False) -> None:
        self.source = source
        # Also set when a write fails in a way that leaves its outcome unknown: the
        # connection broke after COMMIT was sent, before its reply came. The rows may
        # be stored; the recorder will send them again.
        self._outcome_unknown = resent

    def write(self, records: Sequence[MetricRecord]) -> int:
        """Store the records (those not stored before); how many were."""
        try:
            if self._outcome_unknown:
                records = _not_stored(records)
            rows = [
                RequestMetric(source=self.source, **{name: getattr(r, name) for name in FIELDS})
                for r in records
            ]
            with transaction.atomic():
                RequestMetric.objects.bulk_create(rows)
                rollups.add(records)  # same transaction: rollups never disagree with rows
        except (DataError, IntegrityError) as exc:
            # A value PostgreSQL refuses (a NUL in a label, a number out of range): the
            # same batch would fail for ever. The recorder writes the rest without it.
            _release_connection()
            raise RejectedBatch(str(exc).strip().splitlines()[0] if str(exc).strip()
                                else type(exc).__name__) from exc
        except Exception:
            self._outcome_unknown = True
            _release_connection()
            raise
        self._outcome_unknown = False
        return len(records)

    def report_loss(self, dropped: int, first_at: datetime, last_at: datetime,
                    limit: int) -> None:
        """A MetricLoss row: records this process's buffer could not keep."""
        try:
            MetricLoss.objects.create(source=self.source, dropped=dropped,
                                      first_dropped_at=first_at, last_dropped_at=last_at,
                                      buffer_limit=limit)
        finally:
            _release_connection()


def _not_stored(records: Sequence[MetricRecord]) -> list[MetricRecord]:
    """The records of a batch sent again that its earlier try did not store. One query,
    on the request id index; only after a failure, so never on the healthy path."""
    stored = set(RequestMetric.objects.filter(request_id__in={r.request_id for r in records})
                 .values_list("request_id", "attempt"))
    return [r for r in records if (r.request_id, r.attempt) not in stored]


def _after_write(records: Sequence[MetricRecord]) -> None:
    try:
        after_batch(records)  # the consecutive-failure fast path
    finally:
        _release_connection()


def _release_connection() -> None:
    # This runs on the recorder's own thread: release its connection between
    # batches rather than hold one open per process.
    if not connection.in_atomic_block:
        connection.close()


_recorder: BatchingRecorder | None = None


def database_recorder() -> BatchingRecorder:
    global _recorder
    if _recorder is None:
        import os
        import socket

        _recorder = BatchingRecorder(
            DatabaseSink(source=f"{socket.gethostname()}:{os.getpid()}"),
            batch_size=settings.METRICS_BATCH_SIZE,
            flush_interval=settings.METRICS_FLUSH_INTERVAL,
            max_buffer=settings.METRICS_MAX_BUFFER,
            on_written=_after_write,
        )
    return _recorder
