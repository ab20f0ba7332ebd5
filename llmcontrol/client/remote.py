"""Remote mode: a Python service outside the Django project uses the control plane over HTTP.

    LLMCONTROL_URL=https://llmcontrol.internal  LLMCONTROL_API_KEY=lc_...

The routing table comes from `GET /api/v1/routing-table` (revalidated with its
ETag at most every LLMCONTROL_POLL_INTERVAL seconds); decisions are taken here;
metrics are posted in batches to `POST /api/v1/metrics`. When the control plane
is unreachable, the last routing table keeps serving. No Django import.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from datetime import datetime

import httpx

from llmcontrol.client.metrics import (
    DEFAULT_MAX_BUFFER,
    BatchingRecorder,
    MetricRecord,
    RejectedBatch,
)
from llmcontrol.routing import RoutingSnapshot
from llmcontrol.switches import ConfigError, parse_url

logger = logging.getLogger(__name__)

TABLE_PATH = "/api/v1/routing-table"
METRICS_PATH = "/api/v1/metrics"
LOSSES_PATH = "/api/v1/metric-losses"


class RemoteUnavailable(ConnectionError):
    """The control plane did not answer and no routing table was fetched yet."""


class HttpMetricSink:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def write(self, records: Sequence[MetricRecord]) -> None:
        # The batch id is a digest of its records: a batch re-sent after a lost
        # reply carries the same id, and the server stores it once.
        digest = hashlib.sha256(
            "|".join(f"{r.request_id}:{r.attempt}" for r in records).encode()
        ).hexdigest()[:32]
        response = self.http.post(
            METRICS_PATH, json={"batch_id": digest, "records": [r.to_dict() for r in records]}
        )
        if response.status_code in (400, 413, 422):
            # The control plane refused what the batch holds: sent again unchanged it
            # would be refused again (the recorder writes the rest without the culprit).
            raise RejectedBatch(f"{response.status_code}: {response.text[:200]}")
        response.raise_for_status()

    def report_loss(self, dropped: int, first_at: datetime, last_at: datetime,
                    limit: int) -> None:
        """The records the buffer could not keep, to the control plane (a MetricLoss row
        there); raises when it cannot be reached, and the recorder tries again later. A
        control plane that refuses the report (one older than the endpoint) is not asked
        again: the loss stays in this process's log (the recorder logs every loss)."""
        response = self.http.post(LOSSES_PATH, json={
            "dropped": dropped, "first_dropped_at": first_at.isoformat(),
            "last_dropped_at": last_at.isoformat(), "buffer_limit": limit})
        if response.status_code in (400, 404, 405, 413, 422):
            logger.error("the control plane refused a metric loss report (%s %s): %s "
                         "dropped record(s) are in this log only", response.status_code,
                         response.text[:200], dropped)
            return
        response.raise_for_status()


class RemoteBackend:
    name = "remote"

    def __init__(self, url: str, api_key: str, *, poll_interval: float = 1.0,
                 timeout: float = 5.0, transport: httpx.BaseTransport | None = None,
                 max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        self.url = url.rstrip("/")
        self.poll_interval = poll_interval
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {api_key}"},
        )
        self._snapshot: RoutingSnapshot | None = None
        self._etag: str | None = None
        self._checked_at = 0.0
        self._failing = False
        self._lock = threading.Lock()
        self._recorder = BatchingRecorder(HttpMetricSink(self._http), max_buffer=max_buffer)

    @classmethod
    def from_environment(cls) -> RemoteBackend:
        url = parse_url("LLMCONTROL_URL", os.environ.get("LLMCONTROL_URL", ""))
        key = os.environ.get("LLMCONTROL_API_KEY", "").strip()
        if not key:
            raise ConfigError("LLMCONTROL_API_KEY is required when LLMCONTROL_URL is set")
        interval = float(os.environ.get("LLMCONTROL_POLL_INTERVAL", "1.0"))
        max_buffer = int(os.environ.get("METRICS_MAX_BUFFER", DEFAULT_MAX_BUFFER))
        return cls(url, key, poll_interval=interval, max_buffer=max_buffer)

    def snapshot(self) -> RoutingSnapshot:
        snapshot = self._snapshot
        if snapshot is not None and time.monotonic() - self._checked_at < self.poll_interval:
            return snapshot
        return self._revalidate(force=False)

    async def asnapshot(self) -> RoutingSnapshot:
        snapshot = self._snapshot
        if snapshot is not None and time.monotonic() - self._checked_at < self.poll_interval:
            return snapshot
        import asyncio

        return await asyncio.to_thread(self._revalidate, force=False)

    def refresh(self) -> RoutingSnapshot:
        return self._revalidate(force=True)

    def _revalidate(self, *, force: bool) -> RoutingSnapshot:
        with self._lock:
            headers = {"If-None-Match": self._etag} if self._etag and not force else {}
            try:
                response = self._http.get(TABLE_PATH, headers=headers)
                if response.status_code != 304:
                    response.raise_for_status()
                    self._snapshot = RoutingSnapshot.from_dict(response.json(), source="remote")
                    self._etag = response.headers.get("ETag")
                if self._failing:
                    logger.warning("control plane reachable again at %s", self.url)
                    self._failing = False
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                if not self._failing:
                    logger.warning("control plane at %s unreachable (%s); %s", self.url, exc,
                                   "serving the last routing table" if self._snapshot else
                                   "no routing table yet")
                    self._failing = True
                if self._snapshot is None:
                    raise RemoteUnavailable(f"no routing table from {self.url}: {exc}") from exc
            self._checked_at = time.monotonic()
            return self._snapshot

    def record(self, record: MetricRecord) -> None:
        self._recorder.record(record)

    def flush(self, timeout: float = 10.0) -> bool:
        return self._recorder.flush(timeout)

    def pending(self) -> int:
        """Metric records not yet posted (queued in this process)."""
        return self._recorder.pending()
