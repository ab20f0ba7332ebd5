"""Reliability under load: one gateway replica, clients checking every answer in full, and
the metric rows counted against the attempts the answers report.

    make bench   (or: cd bench && ../.venv/bin/python reliability_load.py [options])

Two runs by default: 100 clients for 60 s, half of them streaming; then 500 clients for
60 s, all streaming. Starts, on loopback only: the fast OpenAI-compatible upstream
(_fast_upstream.py) as the local model, the fake Anthropic (tests/fakes) as the cloud
fallback, and the gateway as deployed (uvicorn, DEBUG off, metric recording on) on the
PostgreSQL database `llmcontrol_bench_reliability`. Prints, per run: requests, errors,
metric rows written vs expected, replica RSS after the warm-up and at the end, latency
p50/p99 and requests/s. Exits non-zero when a run had errors or lost/duplicated rows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("DATABASE_URL",
                      "postgres://postgres@127.0.0.1:5432/llmcontrol_bench_reliability")

from _setup import ROOT, setup_database  # noqa: E402

HERE = Path(__file__).resolve().parent


def wire_registry(local_url: str, cloud_url: str) -> str:
    """haiku 100% local (llamacpp-local: the fast upstream), the fake Anthropic behind it."""
    from canary.models import Rollout, Transition
    from tests.reliability.wiring import new_key, wire

    Transition.objects.all().delete()
    Rollout.objects.all().delete()
    wire(anthropic=cloud_url, llamacpp=local_url, stage=100)
    return new_key(f"bench-{secrets.token_hex(3)}")


def start_gateway(port: int) -> subprocess.Popen[bytes]:
    from tests.live import ANTHROPIC_KEY

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "LLMCONTROL_"))}
    env.update({"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(40),
                "ALLOWED_HOSTS": "127.0.0.1", "USE_LOCAL_LLM": "true", "LOG_LEVEL": "WARNING",
                "ANTHROPIC_API_KEY": ANTHROPIC_KEY, "API_RATE_GATEWAY": "off"})
    return subprocess.Popen([sys.executable, "-m", "uvicorn", "llmcontrol.asgi:application",
                             "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                             "--log-level", "warning"], cwd=ROOT, env=env)


def one_run(url: str, key: str, pid: int, clients: int, seconds: float, streaming: float,
            warmup: float) -> bool:
    from canary.models import RequestMetric
    from tests.live import rss_kib
    from tests.reliability.loadgen import Tally, run_load

    before = RequestMetric.objects.count()
    warm = asyncio.run(run_load(url, key, clients, warmup, streaming, prefix="warm"))
    rss_start = rss_kib(pid)
    run = asyncio.run(run_load(url, key, clients, seconds, streaming))
    rss_end = rss_kib(pid)
    total = Tally()
    total.add(warm)
    total.add(run)
    deadline = time.monotonic() + 120  # the writer flushes every 0.5 s
    while RequestMetric.objects.count() - before < total.attempts and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1)  # anything written twice would show now
    written = RequestMetric.objects.count() - before
    print(f"\n{clients} clients, {streaming:.0%} streaming, {seconds:.0f} s after a {warmup:.0f} s "
          f"warm-up")
    print(f"  requests {run.requests} ({run.streams} streamed), {run.requests / run.elapsed_s:.0f}"
          f" req/s, errors {len(run.errors)} (warm-up: {warm.requests} requests, "
          f"{len(warm.errors)} errors)")
    print(f"  latency p50 {run.percentile(0.5):.0f} ms, p99 {run.percentile(0.99):.0f} ms")
    print(f"  metric rows written {written}, expected {total.attempts} (warm-up included)")
    print(f"  replica RSS {rss_start / 1024:.1f} MiB after the warm-up, {rss_end / 1024:.1f} MiB "
          f"at the end")
    for error, count in Counter(e[:160] for e in total.errors).most_common(5):
        print(f"  error x{count}: {error}")
    return not total.errors and written == total.attempts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--runs", default="100:0.5,500:1",
                        help="clients:streaming share, comma-separated")
    args = parser.parse_args()

    setup_database()
    from tests.fakes.llama_server import free_port
    from tests.live import ANTHROPIC_KEY, start_upstream, wait_for

    local_port, gateway_port = free_port(), free_port()
    local = subprocess.Popen([sys.executable, str(HERE / "_fast_upstream.py"), str(local_port)],
                             stdout=subprocess.DEVNULL)
    cloud = start_upstream("anthropic", "--api-key", ANTHROPIC_KEY)
    gateway = None
    ok = True
    try:
        key = wire_registry(f"http://127.0.0.1:{local_port}", cloud.url)
        gateway = start_gateway(gateway_port)
        url = f"http://127.0.0.1:{gateway_port}"
        wait_for(lambda: _answers(url), 60, message="the gateway did not start")
        print(f"load average before: {os.getloadavg()[0]:.2f} (1 min); {os.cpu_count()} cores "
              f"shared by the clients, the gateway and the upstreams")
        for spec in args.runs.split(","):
            clients, share = spec.split(":")
            ok &= one_run(url, key, gateway.pid, int(clients), args.seconds, float(share),
                          args.warmup)
        print(f"\nload average after: {os.getloadavg()[0]:.2f} (1 min)")
    finally:
        for child in (gateway, local):
            if child is not None:
                child.terminate()
                child.wait(timeout=30)
        cloud.stop()
    sys.exit(0 if ok else 1)


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/v1/models", timeout=1.0).status_code == 401
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
