"""A database outage under load: one gateway replica, 100 clients (half streaming), and the
PostgreSQL it writes to stopped for 30 s in the middle of the run.

    cd bench && ../.venv/bin/python reliability_outage.py [--clients 100 --outage 30]

The PostgreSQL server is one of the bench's own (initdb on a free port, as the reliability
tests do): the machine's server is never stopped. Two runs by default: the default buffer
(METRICS_MAX_BUFFER=100000), which must hold the whole outage (rows = attempts, nothing
dropped), then a buffer of 5,000, which cannot (rows + dropped = attempts, the loss on
record as MetricLoss rows). Prints, per run: requests and errors before, during and after
the outage, the buffer's peak, the replica's RSS before, at the end of the outage and
after the drain, how long the drain took once the database was back, rows written and
records dropped against the attempts the answers report. Exits non-zero when a run had
errors or a record was neither written nor counted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from tests.reliability.postgres import PrivatePostgres


def pending_of(url: str) -> int:
    import httpx

    return httpx.get(f"{url}/healthz", timeout=30).json()["metrics"]["pending"]


def one_run(pg: PrivatePostgres, key: str, workdir: str, clients: int, outage_s: float,
            buffer: int, calm_s: float) -> bool:
    import socket

    from tests.live import server_environment, start_replica
    from tests.reliability.loadgen import Tally, run_load

    env = server_environment(
        database=pg.url, DEBUG="false", SECRET_KEY="bench-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1", LOG_LEVEL="WARNING", REGISTRY_POLL_INTERVAL="0.5",
        REGISTRY_SNAPSHOT_TTL="300", API_KEY_CACHE_SECONDS="1", METRICS_FLUSH_INTERVAL="0.5",
        METRICS_MAX_BUFFER=str(buffer))
    replica = start_replica(env, workdir)
    source = f"{socket.gethostname()}:{replica.pid}"
    phases: dict[str, Tally] = {}

    def load(name: str, seconds: float) -> None:
        phases[name] = asyncio.run(run_load(replica.url, key, clients, seconds, 0.5,
                                            prefix=name))

    def written() -> tuple[int, int]:
        rows = pg.scalar("SELECT count(*) FROM canary_requestmetric WHERE source = %s", source)
        dropped = pg.scalar("SELECT coalesce(sum(dropped), 0) FROM canary_metricloss "
                            "WHERE source = %s", source)
        return int(rows), int(dropped)  # type: ignore[call-overload]

    try:
        load("before", calm_s)
        rss_before = replica.rss_kib()
        pg.stop()
        during = threading.Thread(target=load, args=("during", outage_s))
        during.start()
        peak = 0
        while during.is_alive():
            peak = max(peak, pending_of(replica.url))
            time.sleep(1.0)
        during.join()
        peak = max(peak, pending_of(replica.url))
        rss_outage = replica.rss_kib()
        # The backlog, written with no traffic on top (the writer retries every 2 s at most).
        pg.start()
        back = time.monotonic()
        while pending_of(replica.url) and time.monotonic() - back < 300:
            time.sleep(0.1)
        drained_s = time.monotonic() - back
        rss_drained = replica.rss_kib()
        load("after", calm_s)
        total = Tally()
        for tally in phases.values():
            total.add(tally)
        deadline = time.monotonic() + 120
        while sum(written()) < total.attempts and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1)  # anything written twice would show now
        rows, dropped = written()
    finally:
        replica.terminate()
    print(f"\n{clients} clients (half streaming), METRICS_MAX_BUFFER={buffer}: {calm_s:.0f} s, "
          f"{outage_s:.0f} s without the database, {calm_s:.0f} s after")
    for name, tally in phases.items():
        print(f"  {name:>6}: {tally.requests} requests, {tally.requests / tally.elapsed_s:.0f} "
              f"req/s, errors {len(tally.errors)}, attempts {tally.attempts}")
    print(f"  buffer peak {peak} records; RSS {rss_before / 1024:.1f} MiB before, "
          f"{rss_outage / 1024:.1f} MiB at the end of the outage, {rss_drained / 1024:.1f} MiB "
          f"once written")
    print(f"  backlog written {drained_s:.1f} s after the database came back")
    print(f"  metric rows {rows} + dropped {dropped} = {rows + dropped}, attempts "
          f"{total.attempts}")
    for error in total.errors[:5]:
        print(f"  error: {error[:160]}")
    return not total.errors and rows + dropped == total.attempts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--outage", type=float, default=30.0)
    parser.add_argument("--calm", type=float, default=10.0, help="seconds before and after")
    parser.add_argument("--buffers", default="100000,5000")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmcontrol.settings")
    from tests.fakes.llama_server import free_port
    from tests.live import ANTHROPIC_KEY, start_upstream
    from tests.reliability.conftest import prepare_private_database
    from tests.reliability.postgres import PrivatePostgres  # noqa: F811

    local_port = free_port()
    local = subprocess.Popen([sys.executable, str(HERE / "_fast_upstream.py"), str(local_port)],
                             stdout=subprocess.DEVNULL)
    cloud = start_upstream("anthropic", "--api-key", ANTHROPIC_KEY)
    pg = PrivatePostgres()
    ok = True
    try:
        key = prepare_private_database(pg, anthropic=cloud.url,
                                       llamacpp=f"http://127.0.0.1:{local_port}", stage=100)
        print(f"load average before: {os.getloadavg()[0]:.2f} (1 min); {os.cpu_count()} cores "
              f"shared by the clients, the gateway, the upstreams and PostgreSQL")
        with tempfile.TemporaryDirectory(prefix="llmc-outage-") as workdir:
            for buffer in args.buffers.split(","):
                ok &= one_run(pg, key, workdir, args.clients, args.outage, int(buffer),
                              args.calm)
    finally:
        local.terminate()
        local.wait(timeout=30)
        cloud.stop()
        pg.destroy()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
