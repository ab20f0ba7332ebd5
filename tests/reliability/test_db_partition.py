"""A database that hangs instead of refusing (a partition, a dead host behind a pooler)
must not hold requests: connection attempts give up after DB_CONNECT_TIMEOUT, and a
request never waits for a due snapshot or key check for long: it routes on what the
replica already knows."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from canary.models import RequestMetric
from tests.live import server_environment, start_replica, wait_for
from tests.reliability.conftest import ProxiedDatabase
from tests.reliability.wiring import wire

CONNECT_TIMEOUT_S = 3
# Far above a request's normal latency here, below the time a request waiting for one
# hung connection attempt would take: a request that waited for the database fails.
CLIENT_TIMEOUT_S = 2.5
PARTITION_S = 8.0


def ask(client: httpx.Client, key: str, i: int) -> httpx.Response:
    return client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                       json={"model": "haiku", "messages": [{"role": "user",
                                                             "content": f"question {i}"}]})


def test_a_hanging_database_does_not_hold_requests(
    proxied_database: ProxiedDatabase, api_key: str, fake_ollama: Any, fake_anthropic: Any,
    workdir: Path
) -> None:
    wire(anthropic=fake_anthropic.url, ollama=fake_ollama.url, stage=100)
    proxy = proxied_database.proxy
    env = server_environment(database=proxied_database.url, REGISTRY_POLL_INTERVAL="0.5",
                             REGISTRY_SNAPSHOT_TTL="300", API_KEY_CACHE_SECONDS="1",
                             METRICS_FLUSH_INTERVAL="0.5",
                             DB_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT_S))
    replica = start_replica(env, workdir)
    answered = 0
    try:
        with httpx.Client(base_url=replica.url, timeout=CLIENT_TIMEOUT_S) as client:
            for i in range(5):  # warm: snapshot and key known
                assert ask(client, api_key, i).status_code == 200
                answered += 1
            proxy.stall()
            failures = []
            deadline = time.monotonic() + PARTITION_S
            while time.monotonic() < deadline:
                try:
                    response = ask(client, api_key, answered)
                    answered += 1
                    if response.status_code != 200:
                        failures.append(response.status_code)
                except httpx.TimeoutException:
                    failures.append("timeout")
                time.sleep(0.1)
            proxy.resume()
        assert failures == []
        # The partition outlasted several connect timeouts: the checks did run (and fail).
        wait_for(lambda: "registry database unreachable" in replica.log_text(), 10)
        # Every request's metric arrives once the database is reachable again.
        rows = wait_for(lambda: RequestMetric.objects.count() >= answered and
                        RequestMetric.objects.count(), 30,
                        message="metric rows did not arrive after the partition")
        assert rows == answered
    finally:
        replica.terminate()
