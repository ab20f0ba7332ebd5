"""The ASGI lifespan: on shutdown (after the requests in flight) the buffered metrics are
written. uvicorn re-raises SIGTERM once it has shut down, so atexit handlers never run."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llmcontrol.asgi import application
from llmcontrol.client.backends import InProcessBackend


def test_shutdown_writes_the_buffered_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    flushed: list[float] = []
    monkeypatch.setattr(InProcessBackend, "flush",
                        lambda self, timeout=10.0: flushed.append(timeout) or True)
    monkeypatch.delenv("LLMCONTROL_URL", raising=False)
    incoming = ["lifespan.startup", "lifespan.shutdown"]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": incoming.pop(0)}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            assert flushed == []  # nothing to write at startup
        sent.append(message)

    asyncio.run(application({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete",
                                         "lifespan.shutdown.complete"]
    assert len(flushed) == 1


def test_startup_imports_the_enabled_providers_adapters_off_the_loop(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Imported at the first cloud call, the Anthropic SDK (about 1 s of CPU) stalled the
    event loop and every request in flight."""
    import sys

    import llmcontrol.providers
    from registry.actions import seed_defaults
    from registry.snapshot import refresh_snapshot

    seed_defaults()
    refresh_snapshot()
    name = "llmcontrol.providers.anthropic_sdk"
    monkeypatch.setitem(sys.modules, name, sys.modules.get(name))  # restored afterwards
    monkeypatch.setattr(llmcontrol.providers, "anthropic_sdk",
                        getattr(llmcontrol.providers, "anthropic_sdk", None), raising=False)
    del sys.modules[name]
    incoming = ["lifespan.startup"]
    imported_at_startup: list[bool] = []

    async def receive() -> dict[str, Any]:
        return {"type": incoming.pop(0)}

    async def send(message: dict[str, Any]) -> None:
        imported_at_startup.append(name in sys.modules)
        raise asyncio.CancelledError  # enough: stop before waiting for a shutdown

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(application({"type": "lifespan", "asgi": {"version": "3.0"}}, receive,
                                send))
    assert imported_at_startup == [True]
