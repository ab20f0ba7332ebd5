"""Real processes for end-to-end tests: ASGI replicas (uvicorn serving llmcontrol.asgi),
the django-q2 cluster, and fake upstreams in processes of their own.

Each is started with an explicit environment (the database it uses, its caches and
switches), its output goes to a log file the test can read, and it is stopped the way
an operator would stop it: SIGTERM first, SIGKILL only after a grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.fakes.llama_server import free_port

ROOT = Path(__file__).resolve().parents[1]
ANTHROPIC_KEY = "sk-ant-fake-key-for-gateway-tests"
STARTUP_TIMEOUT_S = 60.0


def database_url(settings_dict: dict | None = None) -> str:
    """The URL of Django's current default database (the test database under pytest)."""
    if settings_dict is None:
        from django.db import connection

        settings_dict = connection.settings_dict
    s = settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return (f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
            f"/{s['NAME']}")


def server_environment(database: str | None = None, **extra: str) -> dict[str, str]:
    """What a gateway process runs with: the given (default: the test) database, no caching
    between tests unless `extra` says otherwise, local routing on, the fakes' keys."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OLLAMA_", "LLMCONTROL_", "API_RATE_", "METRICS_", "REGISTRY_"))}
    env.update({
        "DATABASE_URL": database or database_url(), "DEBUG": "true",
        # Every test rewires the registry: the server must not route on an older snapshot
        # or an older key, even when the version numbers of two tests coincide.
        "REGISTRY_POLL_INTERVAL": "0", "REGISTRY_SNAPSHOT_TTL": "0", "API_KEY_CACHE_SECONDS": "0",
        "METRICS_FLUSH_INTERVAL": "0.05", "USE_LOCAL_LLM": "true",
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY, "API_RATE_GATEWAY": "off",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


@dataclass
class LiveServer:
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Replica(LiveServer):
    """One uvicorn process serving llmcontrol.asgi."""

    process: subprocess.Popen[bytes] = field(repr=False, default=None)  # type: ignore[assignment]

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        return rss_kib(self.process.pid)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, then wait for the process to finish its requests and exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"{self.url} did not exit within {timeout:.0f} s of SIGTERM:\n"
                        f"{self.log_text()[-3000:]}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def replica_ready(url: str) -> bool:
    """True once the gateway at `url` answers (401 to /v1/models: up, and checking keys)."""
    try:
        return httpx.get(f"{url}/v1/models", timeout=1.0).status_code == 401
    except httpx.HTTPError:
        return False


def start_replica(env: dict[str, str], workdir: str | Path, port: int | None = None,
                  ready_status: int = 401) -> Replica:
    """Start uvicorn and wait until /v1/models answers (401: it is up and checks keys)."""
    port = port or free_port()
    log = Path(workdir) / f"uvicorn-{port}.log"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "llmcontrol.asgi:application", "--host",
             "127.0.0.1", "--port", str(port), "--no-access-log"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    replica = Replica(f"http://127.0.0.1:{port}", log, child)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        try:
            if httpx.get(f"{replica.url}/v1/models", timeout=1.0).status_code == ready_status:
                return replica
        except httpx.HTTPError:
            pass
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"the gateway did not start:\n{replica.log_text()[-3000:]}")
        time.sleep(0.1)


def start_server(env: dict[str, str], workdir: str) -> tuple[subprocess.Popen[bytes], LiveServer]:
    replica = start_replica(env, workdir)
    return replica.process, replica


def stop_server(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


@dataclass
class Cluster:
    """`manage.py qcluster`: the django-q2 workers and scheduler."""

    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_cluster(env: dict[str, str], workdir: str | Path) -> Cluster:
    log = Path(workdir) / "qcluster.log"
    with log.open("wb") as out:
        child = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                                 stdout=out, stderr=subprocess.STDOUT)
    cluster = Cluster(child, log)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while "running" not in cluster.log_text().lower():
        if child.poll() is not None or time.monotonic() > deadline:
            cluster.stop()
            pytest.fail(f"the django-q2 cluster did not start:\n{cluster.log_text()[-3000:]}")
        time.sleep(0.1)
    return cluster


@dataclass
class Upstream:
    """A fake provider (tests/fakes) serving in a process of its own: under load it must
    not share the test process's GIL with the load generator."""

    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_upstream(kind: str, *args: str) -> Upstream:
    """`kind` is ollama, openai or anthropic; `args` go to tests/fakes/serve.py."""
    child = subprocess.Popen([sys.executable, "-m", "tests.fakes.serve", kind, *args], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert child.stdout is not None
    line = child.stdout.readline().decode().strip()
    if not line.startswith("READY "):
        child.kill()
        pytest.fail(f"the fake {kind} server did not start: {line}")
    return Upstream(line.split(" ", 1)[1], child)


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc (KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def wait_for(predicate, timeout: float, interval: float = 0.05, message: str = ""):  # type: ignore[no-untyped-def]
    """Poll until `predicate()` is truthy; returns its value, fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(message or f"condition not met within {timeout} s")
        time.sleep(interval)
