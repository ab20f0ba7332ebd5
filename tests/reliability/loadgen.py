"""A light load generator for the gateway: N clients, each on one keep-alive connection,
sending chat completions back to back (half of them streaming) and checking every answer
in full. Raw HTTP/1.1 over asyncio: on two cores it must cost far less than the replica
it loads (an httpx client per request would compete with it for the CPU).

Used by tests/reliability/test_load.py (bounded) and bench/reliability_load.py."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Tally:
    answered: int = 0  # complete, correct answers
    attempts: int = 0  # metric rows the answers should leave (a fallback is two)
    streams: int = 0
    errors: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def requests(self) -> int:
        return self.answered + len(self.errors)

    def percentile(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(len(data) * q))] if data else float("nan")

    def add(self, other: Tally) -> None:
        self.answered += other.answered
        self.attempts += other.attempts
        self.streams += other.streams
        self.errors += other.errors
        self.latencies_ms += other.latencies_ms
        self.elapsed_s += other.elapsed_s


def request_bytes(host: str, key: str, stream: bool, routing_key: str) -> bytes:
    body = json.dumps({"model": "haiku", "stream": stream, "max_tokens": 32, "user": routing_key,
                       "messages": [{"role": "user", "content": "Say hello."}]}).encode()
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:  # chunked: the gateway's answers, streamed or not
        parts = []
        while size := int((await reader.readline()).strip(), 16):
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readexactly(2)
        body = b"".join(parts)
    return int(head[0].split()[1]), headers, body


def problem(status: int, headers: dict[str, str], body: bytes, stream: bool) -> str | None:
    """None when the answer is a complete, successful completion."""
    if status != 200:
        return f"status {status}: {body[:200]!r}"
    if not stream:
        message = json.loads(body)["choices"][0]
        if not message["message"]["content"] or message["finish_reason"] != "stop":
            return f"incomplete answer: {body[:200]!r}"
        return None
    events = [line[6:] for line in body.decode().split("\n\n") if line.startswith("data: ")]
    if not events or events[-1] != "[DONE]":
        return f"stream without [DONE]: {body[-200:]!r}"
    chunks = [json.loads(e) for e in events[:-1]]
    if any("error" in c for c in chunks):
        return f"error event: {body[-300:]!r}"
    if not "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]):
        return f"stream without text: {body[:200]!r}"
    return None


async def client(url: str, key: str, stream: bool, routing_key: str, until: float,
                 tally: Tally) -> None:
    address = urlsplit(url)
    request = request_bytes(address.netloc, key, stream, routing_key)
    connection = None
    while time.monotonic() < until:
        began = time.perf_counter()
        try:
            if connection is None:
                connection = await asyncio.open_connection(address.hostname, address.port)
            reader, writer = connection
            writer.write(request)
            status, headers, body = await asyncio.wait_for(read_answer(reader), 120)
            wrong = problem(status, headers, body, stream)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            wrong = f"{type(exc).__name__}: {exc}"
            if connection is not None:
                connection[1].close()
            connection = None
        if wrong:
            tally.errors.append(wrong)
            continue
        tally.answered += 1
        tally.streams += stream
        tally.attempts += 2 if headers.get("x-llmcontrol-fallback") == "true" else 1
        tally.latencies_ms.append((time.perf_counter() - began) * 1000)
    if connection is not None:
        connection[1].close()


async def run_load(url: str, key: str, clients: int, seconds: float, streaming: float = 0.5,
                   prefix: str = "load") -> Tally:
    """`clients` clients for `seconds`; a `streaming` share of them stream. Each client has a
    routing key of its own, so a rollout below 100% sends some local and some to the cloud."""
    tally = Tally()
    started = time.monotonic()
    streams = round(clients * streaming)
    await asyncio.gather(*(client(url, key, i < streams, f"{prefix}-{i}", started + seconds,
                                  tally) for i in range(clients)))
    tally.elapsed_s = time.monotonic() - started
    return tally
