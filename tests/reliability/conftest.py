"""Fixtures of the reliability suite: real processes (gateway replicas, the django-q2
cluster, fake upstreams, the real local model) on a committed registry.

Tests here use `transactional_db`: the replicas are other processes and only see
committed rows. Helpers to start processes live in tests/live.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.live import ROOT, database_url, server_environment
from tests.registry.tcp_proxy import TcpProxy
from tests.reliability.postgres import PrivatePostgres


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def api_key(transactional_db: None) -> str:
    from tests.reliability.wiring import new_key

    return new_key()


@pytest.fixture
def replica_env() -> dict[str, str]:
    """A replica's environment as in production: snapshot polled every 0.5 s, keys cached
    1 s, metrics flushed every 0.5 s (the defaults), on the test database."""
    return server_environment(REGISTRY_POLL_INTERVAL="0.5", REGISTRY_SNAPSHOT_TTL="300",
                              API_KEY_CACHE_SECONDS="1", METRICS_FLUSH_INTERVAL="0.5")


@dataclass
class ProxiedDatabase:
    """The test database behind a TcpProxy the test can stall, cut or make lose a reply."""

    proxy: TcpProxy
    url: str  # DATABASE_URL for a replica, through the proxy


@pytest.fixture
def proxied_database(transactional_db: None) -> Iterator[ProxiedDatabase]:
    from django.db import connection

    proxy = TcpProxy(int(connection.settings_dict["PORT"] or 5432))
    proxy.start()
    settings = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": proxy.port}
    yield ProxiedDatabase(proxy, database_url(settings))
    proxy.cut()


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of the suite's own (made with initdb), migrated; tests may stop it."""
    pg = PrivatePostgres()
    try:
        yield pg
    finally:
        pg.destroy()


def prepare_private_database(pg: PrivatePostgres, **wiring: Any) -> str:
    """Migrate and wire the private database (from scratch); returns a gateway API key."""
    with pg.connect("postgres") as conn:
        conn.autocommit = True
        conn.execute("DROP DATABASE IF EXISTS llmcontrol WITH (FORCE)")
        conn.execute("CREATE DATABASE llmcontrol")
    env = server_environment(database=pg.url)
    result = subprocess.run([sys.executable, "-m", "tests.reliability.setup_db",
                             json.dumps(wiring)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=180)
    if result.returncode != 0:
        pytest.fail(f"could not prepare the private database:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["key"]
