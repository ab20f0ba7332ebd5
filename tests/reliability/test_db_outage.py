"""PostgreSQL goes away under traffic (a server of the suite's own, stopped and started
again): the replica keeps routing on its last snapshot and accepting the key it knows,
holds the metrics in memory, and writes them all once the database is back. Beyond
METRICS_MAX_BUFFER what is dropped is counted and put on record (a MetricLoss row, the
log, Prometheus), never lost silently."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import (
    ANTHROPIC_KEY,
    Replica,
    Upstream,
    server_environment,
    start_replica,
    start_upstream,
    wait_for,
)
from tests.reliability.conftest import prepare_private_database
from tests.reliability.gateway_calls import Outcome, chat, cloud_keys, local_keys
from tests.reliability.postgres import PrivatePostgres

STAGE = 50
OUTAGE_S = 30.0
PAUSE_S = 0.25  # between requests: a steady few per second through the outage
DRAIN_TIMEOUT_S = 90.0


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, Upstream]]:
    ollama = start_upstream("ollama")
    anthropic = start_upstream("anthropic", "--api-key", ANTHROPIC_KEY)
    yield {"ollama": ollama, "anthropic": anthropic}
    ollama.stop()
    anthropic.stop()


@pytest.fixture(scope="module")
def outage_db(private_pg: PrivatePostgres, upstreams: dict[str, Upstream]) -> Iterator[str]:
    """The private database, wired to the fakes with haiku at 50%; yields an API key."""
    key = prepare_private_database(private_pg, anthropic=upstreams["anthropic"].url,
                                   ollama=upstreams["ollama"].url, stage=STAGE)
    yield key
    ensure_running(private_pg)


def ensure_running(pg: PrivatePostgres) -> None:
    """Start the server again if a failed test left it stopped (pg_ctl refuses otherwise)."""
    with contextlib.suppress(subprocess.CalledProcessError):
        pg.start()


def replica_on(pg: PrivatePostgres, workdir: Path, **extra: str) -> Replica:
    env = server_environment(database=pg.url, REGISTRY_POLL_INTERVAL="0.5",
                             REGISTRY_SNAPSHOT_TTL="300", API_KEY_CACHE_SECONDS="1",
                             METRICS_FLUSH_INTERVAL="0.5", **extra)
    return start_replica(env, workdir)


def source_of(replica: Replica) -> str:
    return f"{socket.gethostname()}:{replica.pid}"  # canary.recorder's DatabaseSink source


def rows_of(pg: PrivatePostgres, replica: Replica) -> int:
    return int(pg.scalar("SELECT count(*) FROM canary_requestmetric WHERE source = %s",
                         source_of(replica)))  # type: ignore[arg-type]


def losses_of(pg: PrivatePostgres, replica: Replica) -> list[tuple[Any, ...]]:
    with pg.connect() as conn:
        return conn.execute("SELECT dropped, buffer_limit FROM canary_metricloss "
                            "WHERE source = %s", (source_of(replica),)).fetchall()


def health(replica: Replica) -> dict[str, Any]:
    response = httpx.get(f"{replica.url}/healthz", timeout=30)
    assert response.status_code == 200
    return response.json()


def complete(outcome: Outcome) -> bool:
    if outcome.status != 200:
        return False
    if outcome.stream:
        return outcome.done and not outcome.error_events and bool(outcome.text)
    return bool(outcome.body["choices"][0]["message"]["content"])


def log_count(replica: Replica, text: str) -> int:
    return replica.log_text().count(text)


def test_thirty_seconds_without_the_database_lose_no_metric(
    private_pg: PrivatePostgres, outage_db: str, workdir: Path
) -> None:
    replica = replica_on(private_pg, workdir, METRICS_MAX_BUFFER="10000")
    keys = [k for pair in zip(local_keys(STAGE, 20, "outage"), cloud_keys(STAGE, 20, "outage"),
                              strict=True) for k in pair]
    outcomes: list[Outcome] = []

    def call(i: int) -> Outcome:
        outcome = chat(replica.url, outage_db, routing_key=keys[i % len(keys)],
                       stream=i % 2 == 1, content=f"question {i}")
        outcomes.append(outcome)
        return outcome

    try:
        for i in range(10):  # before: the snapshot and the key are known
            assert complete(call(i)), outcomes[-1]
        wait_for(lambda: rows_of(private_pg, replica) == sum(o.attempts for o in outcomes),
                 timeout=DRAIN_TIMEOUT_S, message="the rows before the outage were not written")
        version = health(replica)["snapshot"]["version"]

        private_pg.stop()
        during: list[Outcome] = []
        deadline = time.monotonic() + OUTAGE_S
        while time.monotonic() < deadline:
            during.append(call(len(outcomes)))
            time.sleep(PAUSE_S)
        outage_health = health(replica)
        private_pg.start()

        assert [o for o in during if not complete(o)] == []
        assert {o.routed_to for o in during} == {"local", "cloud"}  # on the last snapshot
        assert outage_health["database"] is False
        assert outage_health["snapshot"] == {"version": version, "source": "database"}
        assert outage_health["metrics"]["pending"] > 0
        assert outage_health["metrics"]["dropped"] == 0

        attempts = sum(o.attempts for o in outcomes)
        wait_for(lambda: rows_of(private_pg, replica) >= attempts, timeout=DRAIN_TIMEOUT_S,
                 message="the buffered rows were not written once the database was back")
    finally:
        ensure_running(private_pg)
        replica.terminate()
    assert rows_of(private_pg, replica) == attempts
    assert losses_of(private_pg, replica) == []
    # One line when the outage starts and one when it ends, whatever the traffic.
    assert log_count(replica, "metric write failed") == 1
    assert log_count(replica, "metric writes recovered") == 1
    assert log_count(replica, "API keys: database unavailable") == 1
    assert log_count(replica, "registry database unreachable") == 1


def test_beyond_the_buffer_the_loss_is_counted_and_reported(
    private_pg: PrivatePostgres, outage_db: str, workdir: Path
) -> None:
    limit, calls_in_outage = 20, 35
    replica = replica_on(private_pg, workdir, METRICS_MAX_BUFFER=str(limit))
    keys = cloud_keys(STAGE, 5, "overflow")
    try:
        before = [chat(replica.url, outage_db, routing_key=keys[0]) for _ in range(3)]
        assert all(complete(o) for o in before)
        wait_for(lambda: rows_of(private_pg, replica) == 3, timeout=DRAIN_TIMEOUT_S)

        private_pg.stop()
        during = [chat(replica.url, outage_db, routing_key=keys[i % len(keys)],
                       stream=i % 3 == 0) for i in range(calls_in_outage)]
        assert [o for o in during if not complete(o)] == []
        attempts = sum(o.attempts for o in during)
        assert attempts == calls_in_outage  # cloud, no fallback: one row each
        overflow = health(replica)["metrics"]
        assert (overflow["pending"], overflow["dropped"]) == (limit, attempts - limit)
        private_pg.start()

        wait_for(lambda: losses_of(private_pg, replica), timeout=DRAIN_TIMEOUT_S,
                 message="the loss was not reported once the database was back")
        scrape = httpx.get(f"{replica.url}/metrics", timeout=30,
                           headers={"Authorization": f"Bearer {outage_db}"})
        after = health(replica)["metrics"]
    finally:
        ensure_running(private_pg)
        replica.terminate()
    assert rows_of(private_pg, replica) == 3 + limit
    assert losses_of(private_pg, replica) == [(attempts - limit, limit)]
    assert (after["pending"], after["loss_unreported"]) == (0, 0)
    assert scrape.status_code == 200
    assert (f'llmcontrol_metric_records_dropped_total{{source="{source_of(replica)}"}} '
            f"{float(attempts - limit)}") in scrape.text
    assert log_count(replica, "metric buffer full") == 1
    assert log_count(replica, f"{attempts - limit} metric record(s) dropped between") == 1


def test_sigterm_with_the_database_away_says_what_it_could_not_write(
    private_pg: PrivatePostgres, outage_db: str, workdir: Path
) -> None:
    replica = replica_on(private_pg, workdir, METRICS_SHUTDOWN_TIMEOUT="2")
    keys = cloud_keys(STAGE, 4, "shutdown")
    try:
        assert complete(chat(replica.url, outage_db, routing_key=keys[0]))
        wait_for(lambda: rows_of(private_pg, replica) == 1, timeout=DRAIN_TIMEOUT_S)
        private_pg.stop()
        during = [chat(replica.url, outage_db, routing_key=k, stream=True) for k in keys]
        assert [o for o in during if not complete(o)] == []
        replica.terminate()
    finally:
        ensure_running(private_pg)
        replica.kill()
    log = replica.log_text()
    assert "metrics not written after 2.0 s: 4 record(s) still queued" in log
    assert "shutdown: exiting with metrics not written" in log
    assert rows_of(private_pg, replica) == 1
