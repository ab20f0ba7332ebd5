"""Metric records and the batching recorder that keeps them off the call path.

A call appends to an in-memory queue (no I/O). A background thread drains the
queue into a sink (the database in-process, the control plane's metrics
endpoint in remote mode) in batches. A batch that fails to write stays queued
and is tried again; `flush()` drains on demand and at interpreter exit, so a
process that stops normally loses nothing. No Django import here.
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
    def write(self, records: Sequence[MetricRecord]) -> None:
        """Store the batch whole, or raise and store none of it."""


class MetricRecorder(Protocol):
    def record(self, record: MetricRecord) -> None: ...
    def flush(self, timeout: float = 10.0) -> bool: ...


class BatchingRecorder:
    """Queue records; a daemon thread writes them to `sink` in batches."""

    def __init__(
        self,
        sink: MetricSink,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.5,
        max_buffer: int = 1_000_000,
        on_written: Callable[[Sequence[MetricRecord]], None] | None = None,
    ) -> None:
        self.sink = sink
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.on_written = on_written
        self.dropped = 0
        self.written = 0
        self._queue: deque[MetricRecord] = deque(maxlen=max_buffer)
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._writing = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._failing = False
        self._stopped = False

    def record(self, record: MetricRecord) -> None:
        if len(self._queue) == self._queue.maxlen:
            # Past a million unwritten records the oldest go; counted, and logged on flush.
            self.dropped += 1
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

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything queued so far; True when the queue drained in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._queue and not self._writing:
                return True
            if self._thread is None or not self._thread.is_alive():
                self._drain_once()  # no writer thread (e.g. at exit): write here
                continue
            self._wake.set()
            with self._idle:
                self._idle.wait(0.05)
        return not self._queue and not self._writing

    def close(self, timeout: float = 10.0) -> bool:
        drained = self.flush(timeout)
        self._stopped = True
        self._wake.set()
        if self.dropped:
            logger.error("metric buffer overflowed: %s record(s) dropped", self.dropped)
        return drained

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
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            while self._queue and self._drain_once():
                pass

    def _drain_once(self) -> bool:
        batch = [self._queue[i] for i in range(min(self.batch_size, len(self._queue)))]
        if not batch:
            return False
        self._writing = True
        try:
            self.sink.write(batch)
        except Exception as exc:  # the sink's failure must never reach a caller
            if not self._failing:
                logger.warning(
                    "metric write failed (%s); %s record(s) kept for retry", exc, len(self._queue)
                )
                self._failing = True
            self._writing = False
            time.sleep(min(self.flush_interval, 0.5))
            return False
        # Only now remove them: a failed write leaves the batch at the head of the queue.
        for _ in batch:
            self._queue.popleft()
        self.written += len(batch)
        if self._failing:
            logger.warning("metric writes recovered")
            self._failing = False
        if self.on_written:
            try:
                self.on_written(batch)
            except Exception:
                logger.exception("metric post-write hook failed")
        self._writing = False
        with self._idle:
            self._idle.notify_all()
        return True


def new_request_id() -> str:
    return uuid.uuid4().hex
