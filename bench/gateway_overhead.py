"""What the gateway adds: the same OpenAI requests sent straight to a fast fake upstream
and through llmcontrol's gateway, at concurrency 1, 10 and 100, streaming and not.

    make bench   (or: cd bench && ../.venv/bin/python gateway_overhead.py [options])

Starts, on loopback only: the fake upstream (_fast_upstream.py), and the gateway as
`run_stack` serves it (uvicorn, llmcontrol.asgi, DEBUG off, metric recording on) on
the PostgreSQL bench database, with the registry routing `haiku` 100% to a local
OpenAI-compatible provider that is the fake upstream. A small asyncio load generator
(raw keep-alive HTTP/1.1, so that it costs little of the two cores) sends each
request and times it to the last byte. Everything it starts, it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from _setup import ROOT, setup_database

HERE = Path(__file__).resolve().parent
BODY = {"model": "haiku", "messages": [
    {"role": "system", "content": "Answer with one label: bug, feature, refactor or docs."},
    {"role": "user", "content": "The export button does nothing when the list is empty."}],
    "max_tokens": 16, "user": "bench"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The load generator


@dataclass
class Run:
    latencies_ms: list[float] = field(default_factory=list)
    overheads_ms: list[float] = field(default_factory=list)  # X-LLMControl-Overhead-Ms
    errors: int = 0
    elapsed_s: float = 0.0

    def pct(self, q: float, values: list[float] | None = None) -> float:
        data = sorted(self.latencies_ms if values is None else values)
        return data[min(len(data) - 1, int(len(data) * q))] if data else float("nan")

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s else 0.0


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
    if b"content-length" in headers:
        await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding") == b"chunked":
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, headers


async def connection(host: str, port: int, request: bytes, deadline: float, warm_until: float,
                     run: Run) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            began = time.perf_counter()
            if began >= deadline:
                return
            writer.write(request)
            status, headers = await read_response(reader)
            ended = time.perf_counter()
            if began < warm_until:
                continue
            if status != 200:
                run.errors += 1
                continue
            run.latencies_ms.append((ended - began) * 1000)
            if b"x-llmcontrol-overhead-ms" in headers:
                run.overheads_ms.append(float(headers[b"x-llmcontrol-overhead-ms"]))
    finally:
        writer.close()


async def load(port: int, path: str, key: str | None, body: dict, concurrency: int,
               duration: float, warmup: float) -> Run:
    payload = json.dumps(body).encode()
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}"
               f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
               ).encode() + payload
    run = Run()
    start = time.perf_counter()
    warm_until = start + warmup
    await asyncio.gather(*(connection("127.0.0.1", port, request, warm_until + duration,
                                      warm_until, run) for _ in range(concurrency)))
    run.elapsed_s = time.perf_counter() - warm_until
    return run


# The processes under test


def wait_for(port: int, child: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{what} exited with code {child.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not listen on {port} within 60 s")


def wire_registry(upstream_url: str) -> str:
    """Seed defaults; haiku 100% to the local OpenAI-compatible provider (the fake). A key."""
    from django.db import transaction

    from canary import actions
    from canary.models import Rollout, Transition
    from registry.actions import bump_version, seed_defaults
    from registry.models import ApiKey, Model, Provider

    with transaction.atomic():
        Transition.objects.all().delete()
        Rollout.objects.all().delete()
        seed_defaults()
        Provider.objects.filter(key="llamacpp-local").update(base_url=upstream_url,
                                                             max_retries=0)
        # Nothing may leave the machine: the cloud providers point at a closed port.
        Provider.objects.filter(is_local=False).update(base_url=f"http://127.0.0.1:{free_port()}")
        candidate = Model.objects.get(model_key="smollm2-135m-instruct")
        actions.create_rollout("haiku", actor="bench", candidate=candidate)
        bump_version()
    actions.set_stage("haiku", 100, actor="bench", force=True, note="gateway benchmark")
    return ApiKey.create(f"bench-{secrets.token_hex(3)}")[1]


def start_gateway(port: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "LLMCONTROL_"))}
    env.update({"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(40),
                "ALLOWED_HOSTS": "127.0.0.1", "USE_LOCAL_LLM": "true", "LOG_LEVEL": "WARNING"})
    command = [sys.executable, "-m", "uvicorn", "llmcontrol.asgi:application",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
               "--workers", str(args.workers), "--loop", args.loop, "--http", args.http]
    if not args.access_log:
        command.append("--no-access-log")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


def stop(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,10,100")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--loop", default="auto", help="uvicorn --loop (auto, asyncio, uvloop)")
    parser.add_argument("--http", default="auto", help="uvicorn --http (auto, h11, httptools)")
    parser.add_argument("--access-log", action="store_true", help="leave uvicorn's access log on")
    parser.add_argument("--no-stream", action="store_true", help="skip the streaming runs")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]

    setup_database()
    from canary.models import RequestMetric

    upstream_port, gateway_port = free_port(), free_port()
    upstream = subprocess.Popen([sys.executable, str(HERE / "_fast_upstream.py"),
                                 str(upstream_port)], stdout=subprocess.DEVNULL)
    gateway = None
    try:
        wait_for(upstream_port, upstream, "the fake upstream")
        key = wire_registry(f"http://127.0.0.1:{upstream_port}")
        gateway = start_gateway(gateway_port, args)
        wait_for(gateway_port, gateway, "the gateway")
        print(f"gateway: uvicorn workers={args.workers} loop={args.loop} http={args.http} "
              f"access_log={'on' if args.access_log else 'off'}; DEBUG off; metrics on; "
              f"{os.cpu_count()} cores shared by the load generator, gateway and upstream")
        metrics_before = RequestMetric.objects.count()
        sent = 0
        rows = []
        for stream in ([False] if args.no_stream else [False, True]):
            body = {**BODY, "stream": True, "stream_options": {"include_usage": True}} \
                if stream else BODY
            for c in levels:
                direct = asyncio.run(load(upstream_port, "/v1/chat/completions", None, body, c,
                                          args.duration, args.warmup))
                through = asyncio.run(load(gateway_port, "/v1/chat/completions", key, body, c,
                                           args.duration, args.warmup))
                sent += len(through.latencies_ms) + through.errors
                rows.append((stream, c, direct, through))
        time.sleep(2)  # the metric writer flushes every 0.5 s
        written = RequestMetric.objects.count() - metrics_before
    finally:
        if gateway:
            stop(gateway)
        stop(upstream)

    print("\n| stream | conc. | direct p50 / p99 ms | gateway p50 / p99 ms | added p50 / p99 ms "
          "| gateway req/s | direct req/s | server-side overhead p50 / p99 ms | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    for stream, c, d, g in rows:
        overhead = (f"{g.pct(0.5, g.overheads_ms):.2f} / {g.pct(0.99, g.overheads_ms):.2f}"
                    if g.overheads_ms else "-")
        print(f"| {'yes' if stream else 'no'} | {c} | {d.pct(0.5):.2f} / {d.pct(0.99):.2f} "
              f"| {g.pct(0.5):.2f} / {g.pct(0.99):.2f} "
              f"| {g.pct(0.5) - d.pct(0.5):.2f} / {g.pct(0.99) - d.pct(0.99):.2f} "
              f"| {g.rps:.0f} | {d.rps:.0f} | {overhead} | {g.errors} |")
    print(f"\nmetric rows written by the gateway: {written} (requests sent to it, warm-up "
          f"included: at least {sent}); median of per-request latencies, "
          f"{statistics.mean([args.duration])} s per run after {args.warmup} s warm-up")


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()  # the load generator's own loop: less of the machine for itself
    except ImportError:
        pass
    main()
