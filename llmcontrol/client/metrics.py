"""Metric records and the batching recorder that keeps them off the call path.

A call appends to an in-memory queue (no I/O). A background thread drains the
queue into a sink (the database in-process, the control plane's metrics
endpoint in remote mode) in batches. A batch that fails to write stays queued
and is tried again (at most every MAX_RETRY_INTERVAL_S while the sink fails);
`flush()` drains on demand and at interpreter exit, so a process that stops
normally loses nothing. The queue is bounded (METRICS_MAX_BUFFER): what does
not fit is counted and reported to the sink, never dropped silently. No Django
import here.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

logger = logging.getLogger(__name__)

# error_type of an attempt the caller abandoned (hung up, cancelled): recorded, never
# counted as the provider's error by the rollout's gates.
CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class MetricRecord:
    """One attempt of one call. Never holds prompt or completion text."""

    request_id: str
    attempt: int
    tier: str
    provider: str
    model: str
    routed_to: str  # local, cloud or fallback
    bucket: int
    stage: int
    success: bool
    latency_ms: float
    error_type: str = ""
    ttft_ms: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    json_requested: bool = False
    json_valid: bool | None = None
    think_leaked: bool = False
    empty_answer: bool = False
    finish_reason: str = ""
    streamed: bool = False
    retries: int = 0  # provider retries inside this attempt (429/5xx/cut, then tried again)
    purpose: str = ""
    sub_agent: str = ""
    phase: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


class MetricSink(Protocol):
    def write(self, records: Sequence[MetricRecord]) -> int | None:
        """Store the batch whole, or raise and store none of it. May return how many
        records were new (a sink that skips records it already holds)."""

    # Optional: `report_loss(dropped, first_at, last_at, limit)` stores the news that
    # `dropped` records were refused between those times (the buffer held `limit`).
    # Raise if it could not; it is tried again later.


class MetricRecorder(Protocol):
    def record(self, record: MetricRecord) -> None: ...
    def flush(self, timeout: float = 10.0) -> bool: ...


class RejectedBatch(Exception):
    """Raised by a sink that refuses what a batch holds (a value the store cannot take):
    retrying the same batch cannot succeed, unlike when the store is unreachable."""


DEFAULT_MAX_BUFFER = 100_000
MAX_RETRY_INTERVAL_S = 2.0  # while the sink fails: one attempt per this, at most


@dataclass
class _Loss:
    """Records refused while the buffer was full, not yet reported to the sink."""

    dropped: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None

    def add(self, count: int, first_at: datetime, last_at: datetime) -> None:
        self.dropped += count
        self.first_at = min(self.first_at or first_at, first_at)
        self.last_at = max(self.last_at or last_at, last_at)


class BatchingRecorder:
    """Queue records; a daemon thread writes them to `sink` in batches.

    At most `max_buffer` records wait. Past that, while the sink is failing, new records
    are refused (counted, not queued): the queued ones stay exactly as they were, so the
    batch being retried at the head is never pulled from under the writer, and what is
    kept is the start of the outage in one piece, what is lost one interval of time,
    which the loss report names. The loss goes to the sink (`report_loss`) once writes
    succeed again; one warning is logged when an overflow starts, one when it is
    reported.
    """

    def __init__(
        self,
        sink: MetricSink,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.5,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        on_written: Callable[[Sequence[MetricRecord]], None] | None = None,
    ) -> None:
        self.sink = sink
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_buffer = max_buffer
        self.on_written = on_written
        self.dropped = 0  # since the process started, reported or not
        self.written = 0
        self._queue: deque[MetricRecord] = deque()
        self._loss = _Loss()
        self._lock = threading.Lock()  # the queue's bound and the loss counters
        self._wake = threading.Event()
        self._urgent = threading.Event()  # flush(): retry now, even while failing
        self._idle = threading.Condition()
        self._writing = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._failing = False
        self._retry_interval = flush_interval
        self._stopped = False

    def record(self, record: MetricRecord) -> None:
        with self._lock:
            if len(self._queue) >= self.max_buffer:
                self._refuse(record)
                return
            self._queue.append(record)
        if self._thread is None:
            self._start()
        # A local failure may be the third in a row: write it now so the rollout's
        # fast path sees it right after the request, not at the next flush tick.
        if len(self._queue) >= self.batch_size or (
            record.routed_to == "local" and not record.success
        ):
            self._wake.set()

    def pending(self) -> int:
        return len(self._queue)

    def unreported_loss(self) -> int:
        return self._loss.dropped

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything queued so far (and report any loss); True when done in time.

        When the time runs out the count of records still unwritten is logged."""
        deadline = time.monotonic() + timeout
        self._urgent.set()
        while time.monotonic() < deadline:
            if self._done():
                return True
            if self._thread is None or not self._thread.is_alive():
                # No writer thread (e.g. at exit): write here.
                if not self._write_pending():
                    time.sleep(min(self._retry_interval, max(deadline - time.monotonic(), 0)))
                continue
            self._wake.set()
            with self._idle:
                self._idle.wait(0.05)
        if self._done():
            return True
        logger.error("metrics not written after %.1f s: %s record(s) still queued, %s "
                     "dropped record(s) not yet reported", timeout, len(self._queue),
                     self._loss.dropped)
        return False

    def close(self, timeout: float = 10.0) -> bool:
        drained = self.flush(timeout)
        self._stopped = True
        self._wake.set()
        self._urgent.set()
        return drained

    def _done(self) -> bool:
        return not self._queue and not self._writing and not self._loss.dropped

    def _refuse(self, record: MetricRecord) -> None:
        # Called with the lock held.
        if not self._loss.dropped:
            logger.warning("metric buffer full (%s records unwritten): new records are "
                           "dropped and counted until writes succeed", self.max_buffer)
        self._loss.add(1, record.created_at, record.created_at)
        self.dropped += 1

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="llmcontrol-metrics", daemon=True
                )
                self._thread.start()
                atexit.register(self.close)

    def _run(self) -> None:
        while not self._stopped:
            if self._failing:
                # One attempt per retry interval, however many records arrive meanwhile.
                self._urgent.wait(self._retry_interval)
            else:
                self._wake.wait(self.flush_interval)
            self._wake.clear()
            self._urgent.clear()
            if not self._write_pending():
                self._retry_interval = min(self._retry_interval * 2 or 0.1,
                                           MAX_RETRY_INTERVAL_S)

    def _write_pending(self) -> bool:
        """Write all queued batches, then report a pending loss; False at the first failure."""
        while self._queue:
            if not self._drain_once():
                return False
        return self._report_loss()

    def _drain_once(self) -> bool:
        batch = [self._queue[i] for i in range(min(self.batch_size, len(self._queue)))]
        if not batch:
            return False
        self._writing = True
        try:
            try:
                self.sink.write(batch)
            except RejectedBatch as exc:
                self._write_in_halves(batch, exc)
            else:
                self._stored(batch)
        except Exception as exc:  # the sink's failure must never reach a caller
            self._failed("metric write", exc)
            return False
        self._recovered()
        self._writing = False
        with self._idle:
            self._idle.notify_all()
        return True

    def _stored(self, part: Sequence[MetricRecord]) -> None:
        # Only now remove them: a failed write leaves the batch at the head of the queue.
        # (Only record() appends, at the tail; nothing else removes.)
        for _ in part:
            self._queue.popleft()
        self.written += len(part)
        if self.on_written:
            try:
                self.on_written(part)
            except Exception:
                logger.exception("metric post-write hook failed")

    def _write_in_halves(self, batch: list[MetricRecord], cause: RejectedBatch) -> None:
        """The sink refused what the batch holds: write it half by half, in order, and drop
        (counted) the records it refuses alone. Retried unchanged, such a batch would stay
        at the head of the queue for ever and no record after it would be written. A
        failure of another kind propagates: what is not written yet stays queued."""
        refused = 0
        parts = [part for part in (batch[: len(batch) // 2], batch[len(batch) // 2:]) if part]
        while parts:
            part = parts.pop(0)
            try:
                self.sink.write(part)
            except RejectedBatch as exc:
                cause = exc
                if len(part) > 1:
                    parts[:0] = [part[: len(part) // 2], part[len(part) // 2:]]
                    continue
                self._queue.popleft()
                with self._lock:
                    self._loss.add(1, part[0].created_at, part[0].created_at)
                    self.dropped += 1
                refused += 1
            else:
                self._stored(part)
        logger.error("%s metric record(s) refused by the sink (%s): dropped, the rest of "
                     "the batch written", refused, cause)

    def _report_loss(self) -> bool:
        if not self._loss.dropped:
            return True
        self._writing = True  # flush() waits for the report too
        with self._lock:
            loss, self._loss = self._loss, _Loss()
        assert loss.first_at is not None and loss.last_at is not None
        report = getattr(self.sink, "report_loss", None)
        try:
            if report is not None:
                report(loss.dropped, loss.first_at, loss.last_at, self.max_buffer)
        except Exception as exc:
            with self._lock:  # kept, merged with any drops since, and tried again
                self._loss.add(loss.dropped, loss.first_at, loss.last_at)
            self._failed("metric loss report", exc)
            return False
        logger.error("%s metric record(s) dropped between %s and %s: the buffer "
                     "(METRICS_MAX_BUFFER=%s) was full%s", loss.dropped,
                     loss.first_at.isoformat(), loss.last_at.isoformat(), self.max_buffer,
                     "; reported" if report is not None else "")
        self._writing = False
        with self._idle:
            self._idle.notify_all()
        return True

    def _failed(self, what: str, exc: Exception) -> None:
        if not self._failing:
            logger.warning("%s failed (%s); %s record(s) kept for retry", what, exc,
                           len(self._queue))
            self._failing = True
        self._writing = False
        with self._idle:
            self._idle.notify_all()

    def _recovered(self) -> None:
        if self._failing:
            logger.warning("metric writes recovered")
            self._failing = False
        self._retry_interval = self.flush_interval


def new_request_id() -> str:
    return uuid.uuid4().hex
