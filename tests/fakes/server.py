"""A real HTTP server on loopback that a protocol subclass teaches to speak as a provider.

Each fake runs a stdlib ThreadingHTTPServer on 127.0.0.1, port 0, in a daemon
thread. Chat requests take the next enqueued behaviour (or `default`, a
successful reply, when the queue is empty), or the next of their own script
(`enqueue_for`); every request is recorded in `requests`. Streams use chunked
transfer encoding, as real servers do, so a connection cut mid-body is visible
to the client as a cut, not as an end.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlsplit

from llmcontrol.providers import ProviderConfig
from tests.fakes.behaviours import Behaviour, Reply

DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError)


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: Any  # parsed JSON, or None when empty or not JSON
    raw: bytes
    at: float = 0.0  # time.monotonic() when the request arrived


class Responder:
    """Writes one response; the protocol code never touches the socket itself."""

    def __init__(self, handler: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        self._handler = handler
        self._stopping = stopping
        self.streaming = False

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)  # stop() wakes sleepers: no test waits for a fake

    def send(self, status: int, body: bytes | str, content_type: str = "application/json",
             headers: dict[str, str] | None = None, content_length: int | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        h = self._handler
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        length = len(data) if content_length is None else content_length
        h.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(payload), headers=headers)

    def start_stream(self, content_type: str, status: int = 200,
                     headers: dict[str, str] | None = None) -> None:
        h = self._handler
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Transfer-Encoding", "chunked")
        h.send_header("Cache-Control", "no-cache")
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        self.streaming = True

    def chunk(self, data: bytes | str) -> None:
        payload = data.encode() if isinstance(data, str) else data
        if payload:
            self._handler.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))

    def frames(self, frames: Iterable[bytes], delay_s: float = 0.0) -> None:
        for i, frame in enumerate(frames):
            if i and delay_s:
                self.wait(delay_s)
            self.chunk(frame)

    def end_stream(self) -> None:
        self._handler.wfile.write(b"0\r\n\r\n")

    def drop(self) -> None:
        """Cut the connection now, whatever was or was not sent."""
        self._handler.close_connection = True
        with contextlib.suppress(OSError):
            self._handler.connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, like real servers
    disable_nagle_algorithm = True  # small stream writes would otherwise wait ~40 ms for ACKs
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(DISCONNECTS):
            super().finish()
        self.server.fake._track(self.connection, False)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        url = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command, path=url.path, query=dict(parse_qsl(url.query)),
            headers={k.lower(): v for k, v in self.headers.items()}, body=body, raw=raw,
            at=time.monotonic())
        with fake._lock:  # `+=` from many handler threads loses counts without it
            fake.served += 1
        if fake.record_requests:
            fake.requests.append(request)
        try:
            fake.handle(request, Responder(self, fake._stopping))
        except DISCONNECTS:  # the client gave up (timeout test) or we dropped it on purpose
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep test output clean


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's backlog is 5: twenty callers connecting at once on a loaded machine
    # overflow it and some get a connection reset, which no real provider sends for that.
    request_queue_size = 1024
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], DISCONNECTS):  # a client hanging up is routine
            super().handle_error(request, client_address)


class FakeServer:
    kind: ClassVar[str]  # the ProviderConfig kind this fake speaks
    default_models: ClassVar[list[str]]

    def __init__(self, *, api_key: str | None = None) -> None:
        self.requests: list[RecordedRequest] = []
        self.record_requests = True  # off under long load runs: `served` still counts
        self.served = 0
        self.default: Behaviour = Reply()  # answered when the queue is empty
        self.api_key = api_key  # when set, requests without it get the protocol's auth error
        self.models: list[str] = list(self.default_models)
        self._queue: deque[Behaviour] = deque()
        self._scripts: dict[bytes, deque[Behaviour]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.01}, daemon=True,
                                        name=f"{type(self).__name__}:{self.url}")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:  # unblock handler threads parked on keep-alive connections
            connections, self._connections = set(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enqueue(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    def next_behaviour(self) -> Behaviour:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def enqueue_for(self, marker: str, *behaviours: Behaviour) -> None:
        """Behaviours for the requests whose body holds `marker` (a caller's own words),
        served before the shared queue: concurrent callers each get their own script.
        No marker may contain another (`[caller 01]`, not `caller-1` and `caller-10`)."""
        with self._lock:
            self._scripts.setdefault(marker.encode(), deque()).extend(behaviours)

    def behaviour_for(self, request: RecordedRequest) -> Behaviour:
        """The request's own scripted behaviour if it has one left, else next_behaviour()."""
        with self._lock:
            for marker, script in self._scripts.items():
                if script and marker in request.raw:
                    return script.popleft()
        return self.next_behaviour()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST"]

    def provider_config(self, key: str | None = None, **overrides: Any) -> ProviderConfig:
        """A ProviderConfig pointing at this fake (fast: 2 s timeout)."""
        values: dict[str, Any] = {"key": key or self.kind, "kind": self.kind,
                                  "base_url": self.url, "api_key": self.api_key or "test-key",
                                  "timeout_s": 2.0, "is_local": self.kind == "ollama"}
        values.update(overrides)
        return ProviderConfig(**values)

    def handle(self, request: RecordedRequest, out: Responder) -> None:
        raise NotImplementedError

    def _track(self, connection: socket.socket, alive: bool) -> None:
        with self._lock:
            if alive:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


def now() -> int:
    return int(time.time())
