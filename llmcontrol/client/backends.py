"""Where a client gets its snapshot and sends its metrics.

In-process (inside the Django project): the snapshot comes from the ORM and
metrics go to RequestMetric. Remote (any Python service, LLMCONTROL_URL set):
the snapshot comes from the control plane's routing table and metrics are
posted in batches. Decisions are taken locally in both.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

from llmcontrol.client.metrics import MetricRecord
from llmcontrol.routing import RoutingSnapshot


class Backend(Protocol):
    name: str

    def snapshot(self) -> RoutingSnapshot: ...
    async def asnapshot(self) -> RoutingSnapshot: ...
    def refresh(self) -> RoutingSnapshot: ...
    def record(self, record: MetricRecord) -> None: ...
    def flush(self, timeout: float = 10.0) -> bool: ...


class InProcessBackend:
    name = "in-process"

    def snapshot(self) -> RoutingSnapshot:
        from registry.snapshot import get_snapshot

        return get_snapshot()

    async def asnapshot(self) -> RoutingSnapshot:
        from registry.snapshot import aget_snapshot

        return await aget_snapshot()

    def refresh(self) -> RoutingSnapshot:
        from registry.snapshot import refresh_snapshot

        return refresh_snapshot()

    def record(self, record: MetricRecord) -> None:
        from canary.recorder import database_recorder

        database_recorder().record(record)

    def flush(self, timeout: float = 10.0) -> bool:
        from canary.recorder import database_recorder

        return database_recorder().flush(timeout)

    def pending(self) -> int:
        """Metric records not yet written (queued in this process)."""
        from canary.recorder import database_recorder

        return database_recorder().pending()


_backend: Backend | None = None
_backend_lock = threading.Lock()


def get_backend() -> Backend:
    """Remote when LLMCONTROL_URL is set, else in-process (needs Django settings)."""
    global _backend
    url = os.environ.get("LLMCONTROL_URL", "").strip()
    with _backend_lock:
        if url:
            from llmcontrol.client.remote import RemoteBackend

            if not isinstance(_backend, RemoteBackend) or _backend.url != url.rstrip("/"):
                _backend = RemoteBackend.from_environment()
        elif _backend is None or not isinstance(_backend, InProcessBackend):
            _require_django()
            _backend = InProcessBackend()
        return _backend


def set_backend(backend: Backend | None) -> None:
    """Use this backend for every client (tests, or an application wiring its own)."""
    global _backend
    with _backend_lock:
        _backend = backend


def _require_django() -> None:
    from llmcontrol.switches import ConfigError

    try:
        from django.conf import settings

        configured = settings.configured
    except ImportError:
        configured = False
    if not configured:
        raise ConfigError(
            "llmcontrol.client needs either LLMCONTROL_URL (+ LLMCONTROL_API_KEY) for remote "
            "mode, or Django settings (DJANGO_SETTINGS_MODULE) for in-process mode"
        )
