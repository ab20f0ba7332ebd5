"""One gateway process holds many long-running streams at once (async end to end)."""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.behaviours import Reply
from tests.gateway.conftest import (
    LiveServer,
    metrics_since,
    server_environment,
    start_server,
    stop_server,
)

STREAMS = 150


@pytest.fixture
def production_like_server(gateway_registry: dict[str, Any]) -> Iterator[LiveServer]:
    """A server of its own, started after the registry is wired, with the default caches
    (the session's server re-reads keys and registry on every request, which would take a
    database connection per concurrent request)."""
    env = server_environment(REGISTRY_POLL_INTERVAL="0.5", REGISTRY_SNAPSHOT_TTL="300",
                             API_KEY_CACHE_SECONDS="1")
    with tempfile.TemporaryDirectory() as workdir:
        child, server = start_server(env, workdir)
        try:
            yield server
        finally:
            stop_server(child)


def test_many_concurrent_streams_are_served_at_once(
    production_like_server: LiveServer, gateway_key: str, gateway_registry: dict[str, Any]
) -> None:
    gateway_server = production_like_server
    ollama = gateway_registry["ollama"]
    # Each stream takes about a second upstream: served one after another they would take
    # minutes; served at once, the provider sees them all open together.
    ollama.default = Reply(chunks=["a ", "b ", "c ", "d"], chunk_delay_s=0.3)
    # The fake's stdlib server listens with a backlog of 5: enough for one client, not for
    # 150 connections opened in the same millisecond.
    ollama._server.socket.listen(STREAMS * 2)
    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.wait(0.02):
            peak = max(peak, len(ollama._connections))

    async def one(client: httpx.AsyncClient, i: int) -> str:
        async with client.stream("POST", "/v1/chat/completions", json={
                "model": "haiku", "stream": True, "user": f"user-{i}",
                "messages": [{"role": "user", "content": f"question {i}"}]}) as response:
            assert response.status_code == 200, (await response.aread())[:500]
            return "".join([line async for line in response.aiter_lines()])

    async def run() -> list[str]:
        async with httpx.AsyncClient(
                base_url=gateway_server.url, timeout=60,
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
                headers={"Authorization": f"Bearer {gateway_key}"}) as client:
            return await asyncio.gather(*(one(client, i) for i in range(STREAMS)))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        bodies = asyncio.run(run())
    finally:
        done.set()
        watcher.join()
    assert all(body.endswith("data: [DONE]") for body in bodies)
    assert peak >= STREAMS * 0.9, f"only {peak} upstream streams were open at once"
    rows = metrics_since(gateway_registry["started"], STREAMS, timeout=30)
    assert all(r.success and r.streamed for r in rows)
