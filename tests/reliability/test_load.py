"""Load through one replica: 100 clients at once, half streaming, against fast upstreams in
processes of their own, with the haiku rollout at 50% so both arms carry traffic.

Every answer must be complete (a completion with text, or a stream ending in [DONE] with
no error event), every attempt must leave exactly one metric row, and the replica's
memory after the run must stay near what it was after the warm-up. The run lasts
RELIABILITY_LOAD_SECONDS (default 20); bench/reliability_load.py runs 60 s and 500
streams. Nothing here is timed: the figures are printed, the counts asserted."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from canary.models import RequestMetric
from tests.live import ANTHROPIC_KEY, Replica, Upstream, start_replica, start_upstream, wait_for
from tests.reliability.loadgen import Tally, run_load
from tests.reliability.wiring import wire

CLIENTS = 100
SECONDS = float(os.environ.get("RELIABILITY_LOAD_SECONDS", "20"))
WARMUP_SECONDS = 3.0
# Memory may settle after the warm-up (pools filling, caches, the allocator's arenas) but
# must not grow with the number of requests served.
RSS_GROWTH_LIMIT = 1.5


@pytest.fixture
def upstreams() -> Iterator[tuple[Upstream, Upstream]]:
    ollama = start_upstream("ollama")
    anthropic = start_upstream("anthropic", "--api-key", ANTHROPIC_KEY)
    yield ollama, anthropic
    ollama.stop()
    anthropic.stop()


@pytest.fixture
def replica(api_key: str, upstreams: tuple[Upstream, Upstream], replica_env: dict[str, str],
            workdir: Path) -> Iterator[Replica]:
    ollama, anthropic = upstreams
    wire(anthropic=anthropic.url, ollama=ollama.url, stage=50)
    server = start_replica(replica_env, workdir)
    yield server
    server.terminate()


def test_100_clients_lose_nothing(replica: Replica, api_key: str) -> None:
    warmup = asyncio.run(run_load(replica.url, api_key, CLIENTS, WARMUP_SECONDS, prefix="warm"))
    rss_after_warmup = replica.rss_kib()
    run = asyncio.run(run_load(replica.url, api_key, CLIENTS, SECONDS))
    rss_at_end = replica.rss_kib()
    total = Tally()
    total.add(warmup)
    total.add(run)
    print(f"\n{run.requests} requests in {run.elapsed_s:.1f} s ({run.requests / run.elapsed_s:.0f}"
          f"/s, {run.streams} streamed) after {warmup.requests} in the warm-up; latency p50 "
          f"{run.percentile(0.5):.0f} ms, p99 {run.percentile(0.99):.0f} ms; replica RSS "
          f"{rss_after_warmup / 1024:.1f} MiB after the warm-up, {rss_at_end / 1024:.1f} MiB "
          f"at the end")

    assert total.errors == []
    assert run.answered > CLIENTS and run.streams > 0 and run.answered > run.streams
    # Rows are written in batches by the replica's writer thread: wait for all of them, then
    # check that no attempt was written twice.
    wait_for(lambda: RequestMetric.objects.count() >= total.attempts, 120,
             message=f"{RequestMetric.objects.count()} metric rows, {total.attempts} expected")
    assert RequestMetric.objects.count() == total.attempts
    assert set(RequestMetric.objects.values_list("routed_to", flat=True)) == {"local", "cloud"}
    assert RequestMetric.objects.filter(success=False).count() == 0
    assert RequestMetric.objects.filter(streamed=True).count() == total.streams
    assert rss_at_end < rss_after_warmup * RSS_GROWTH_LIMIT, (rss_after_warmup, rss_at_end)
    assert "Traceback" not in replica.log_text()
