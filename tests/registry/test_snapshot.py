"""The registry snapshot: query counts, hot reload across processes, the database going away."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from llmcontrol.routing import RouteRequest, decide
from registry import actions
from registry.models import Model, ModelStatus
from registry.snapshot import SnapshotCache, build_snapshot, get_snapshot, refresh_snapshot

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.usefixtures("seeded_registry")
def test_building_a_snapshot_takes_a_handful_of_queries_whatever_the_size() -> None:
    from tests.registry.bulk import add_models_and_rules

    with CaptureQueriesContext(connection) as small:
        build_snapshot()
    add_models_and_rules(models=200, rules=300)
    with CaptureQueriesContext(connection) as big:
        snap = build_snapshot()
    assert len(small) == len(big) <= 5
    assert len(snap.models) == 208


@pytest.mark.usefixtures("seeded_registry")
def test_a_warm_snapshot_and_a_decision_make_no_query() -> None:
    get_snapshot()
    with CaptureQueriesContext(connection) as queries:
        for i in range(100):
            decide(
                RouteRequest(purpose="classification", routing_key=str(i), local_enabled=True),
                get_snapshot(),
            )
    assert len(queries) == 0


@pytest.mark.usefixtures("seeded_registry")
def test_the_version_check_is_one_query_and_a_rebuild_only_when_it_moved() -> None:
    cache = SnapshotCache(poll_interval=0.0)
    cache.get()
    with CaptureQueriesContext(connection) as unchanged:
        cache.get()
    assert len(unchanged) == 1
    actions.set_models_status(Model.objects.filter(model_key="gpt-4o-mini"), ModelStatus.INACTIVE)
    with CaptureQueriesContext(connection) as moved:
        snap = cache.get()
    assert 1 < len(moved) <= 6
    assert next(m for m in snap.models if m.model_key == "gpt-4o-mini").status == "inactive"


@pytest.mark.usefixtures("seeded_registry")
def test_refresh_model_registry_reloads_at_once() -> None:
    before = get_snapshot()
    actions.set_models_status(Model.objects.filter(model_key="gpt-4o-mini"), ModelStatus.INACTIVE)
    assert get_snapshot() is before  # still inside the poll interval
    assert refresh_snapshot().version == before.version + 1


def test_the_snapshot_is_immutable() -> None:
    from registry.defaults import builtin_snapshot

    snap = builtin_snapshot()
    with pytest.raises(AttributeError):
        snap.version = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        snap.providers["x"] = None  # type: ignore[index]


class Probe:
    """The snapshot_probe module running in a child process."""

    def __init__(self, database_url: str, **env: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.registry.snapshot_probe"],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url,
                "DEBUG": "true",
                "REGISTRY_POLL_INTERVAL": "0.5",
                **env,
            },
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def next_line(self, timeout: float = 60.0) -> dict[str, Any]:
        import select

        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise AssertionError(f"probe printed nothing for {timeout} s")
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(
                f"probe exited: {self.proc.stderr.read() if self.proc.stderr else ''}"
            )
        return json.loads(line)

    def wait_for(self, **expected: Any) -> dict[str, Any]:
        while True:
            line = self.next_line()
            assert "error" not in line, line
            if all(line.get(k) == v for k, v in expected.items()):
                return line

    def stop(self) -> tuple[dict[str, Any], str]:
        out, err = self.proc.communicate(input="", timeout=30)
        lines = [json.loads(x) for x in out.splitlines() if x.strip()]
        return lines[-1], err


def database_url(port: int | None = None) -> str:
    settings = connection.settings_dict
    return f"postgres://postgres@127.0.0.1:{port or settings['PORT'] or 5432}/{settings['NAME']}"


@pytest.fixture
def committed_registry(transactional_db: None) -> Iterator[None]:
    actions.seed_defaults()
    yield


@pytest.mark.slow
@pytest.mark.usefixtures("committed_registry")
def test_a_change_in_one_process_is_seen_by_another_within_one_second() -> None:
    probe = Probe(database_url())
    try:
        first = probe.wait_for(source="database", status="active")
        actions.set_models_status(
            Model.objects.filter(model_key="gpt-4o-mini"), ModelStatus.INACTIVE
        )
        committed_at = time.time()
        seen = probe.wait_for(version=first["version"] + 1)
        assert seen["status"] == "inactive"
        delay = seen["time"] - committed_at
        assert delay <= 1.0, f"the other process saw the change after {delay:.3f} s"
    finally:
        summary, _ = probe.stop()
    assert summary["failures"] == 0


@pytest.mark.slow
@pytest.mark.usefixtures("committed_registry")
def test_database_down_later_keeps_the_last_snapshot_and_logs_once() -> None:
    from tests.registry.tcp_proxy import TcpProxy

    proxy = TcpProxy(int(connection.settings_dict["PORT"] or 5432))
    proxy.start()
    probe = Probe(database_url(proxy.port))
    try:
        first = probe.wait_for(source="database", status="active")
        proxy.cut()
        time.sleep(1.5)  # the probe keeps routing through three poll intervals of outage
        actions.set_models_status(
            Model.objects.filter(model_key="gpt-4o-mini"), ModelStatus.INACTIVE
        )
        time.sleep(1.0)
        proxy.start()  # the database is back
        seen = probe.wait_for(version=first["version"] + 1)
        assert seen["status"] == "inactive" and seen["source"] == "database"
    finally:
        summary, stderr = probe.stop()
        proxy.cut()
    assert summary["failures"] == 0
    assert summary["calls"] > 300
    assert stderr.count("registry database unreachable") == 1, stderr
    assert stderr.count("registry database reachable again") == 1, stderr


@pytest.mark.slow
@pytest.mark.usefixtures("committed_registry")
def test_database_down_at_start_serves_the_builtin_defaults() -> None:
    from tests.fakes.fixtures import closed_port

    probe = Probe(database_url(closed_port()))
    try:
        first = probe.wait_for()
        assert (first["source"], first["version"], first["status"]) == ("builtin", 0, "active")
        time.sleep(1.2)
    finally:
        summary, stderr = probe.stop()
    assert summary["failures"] == 0
    assert stderr.count("registry database unreachable") == 1, stderr
    assert "serving the built-in defaults" in stderr
