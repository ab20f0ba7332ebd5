"""Bad input sent over the wire to a live replica (uvicorn): bodies and headers no HTTP
client library would send. Each gets a clear 4xx naming what is wrong, never a 5xx, and
changes nothing: no metric row or rollup, no transition or stored batch, the same
registry version, no call upstream, and no traceback in the replica's log."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db.models import Sum

from canary.models import HourlyRollup, MetricLoss, MetricRollup, RequestMetric, Transition
from registry.actions import current_version
from registry.models import ReceivedMetricBatch
from tests.live import Replica, start_replica, wait_for
from tests.reliability.wiring import wire

GOOD = {"model": "haiku", "messages": [{"role": "user", "content": "Say hello."}]}
MAX_BODY = 1_048_576  # GATEWAY_MAX_BODY_BYTES' default
API_MAX_BODY = 2_621_440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def message(self) -> str:
        return str(json.loads(self.body)["error"]["message"])


def exchange(url: str, head: bytes, body: bytes = b"") -> Answer:
    """One request on a fresh connection, written byte for byte; the whole answer."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=120) as sock:
        # The server may answer (and close) before it has read the whole body.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head + body)
        received = b""
        while not complete(received) and (chunk := sock.recv(65536)):
            received += chunk
    head_bytes, _, payload = received.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        payload = dechunk(payload)
    return Answer(int(lines[0].split()[1]), headers, payload)


def complete(received: bytes) -> bool:
    head, separator, payload = received.partition(b"\r\n\r\n")
    if not separator:
        return False
    head = head.lower()
    if b"transfer-encoding: chunked" in head:
        return payload.endswith(b"0\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(payload) >= int(line.split(b":")[1])
    return False  # until the server closes


def dechunk(data: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return out
        out, data = out + data[:size], data[size + 2:]


def post(url: str, path: str, key: str, body: bytes, *headers: bytes,
         content_length: bool = True) -> Answer:
    """Without `Connection: close`: a server that answers before reading a whole (too big)
    body and then closed would reset the connection under the answer."""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\n").encode()
    head += b"".join(h + b"\r\n" for h in headers)
    if content_length:
        head += f"Content-Length: {len(body)}\r\n".encode()
    return exchange(url, head + b"\r\n", body)


def chunked(body: bytes, size: int = 65536) -> bytes:
    parts = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def nested(depth: int, open_: bytes = b"[", close: bytes = b"]") -> bytes:
    return b'{"model": "haiku", "messages": ' + open_ * depth + close * depth + b"}"


def good(**changes: Any) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


def state() -> dict[str, int]:
    """Everything a request could change, counted."""
    return {
        "metric rows": RequestMetric.objects.count(),
        "rollup requests": MetricRollup.objects.aggregate(n=Sum("requests"))["n"] or 0,
        "hourly rollups": HourlyRollup.objects.count(),
        "transitions": Transition.objects.count(),
        "metric losses": MetricLoss.objects.count(),
        "stored batches": ReceivedMetricBatch.objects.count(),
        "registry version": current_version(),
    }


@pytest.fixture
def replica(api_key: str, replica_env: dict[str, str], workdir: Path, fake_ollama: Any,
            fake_anthropic: Any) -> Iterator[Replica]:
    wire(anthropic=fake_anthropic.url, ollama=fake_ollama.url)
    server = start_replica(replica_env, workdir)
    yield server
    server.terminate()


@pytest.fixture
def unchanged(replica: Replica, api_key: str, fake_ollama: Any,
              fake_anthropic: Any) -> Iterator[None]:
    """Around a test: one good call before (its row written), one after; between them the
    bad input must have changed nothing. The metric writer keeps order, so once the
    second call's row is in, anything the bad requests queued would be too."""
    assert post(replica.url, "/v1/chat/completions", api_key, good()).status == 200
    wait_for(lambda: RequestMetric.objects.count() == 1, 60, message="no metric row written")
    before = state()
    yield
    assert post(replica.url, "/v1/chat/completions", api_key, good()).status == 200
    wait_for(lambda: RequestMetric.objects.count() >= before["metric rows"] + 1, 60)
    after = state()
    assert after == {**before, "metric rows": before["metric rows"] + 1,
                     "rollup requests": before["rollup requests"] + 1}
    assert (fake_ollama.served, fake_anthropic.served) == (2, 0)
    assert "Traceback" not in replica.log_text()


GATEWAY_BODIES = [
    # (what, body, status, the message says)
    ("not JSON", b'{"model": "haiku", ', 400, "could not parse the JSON body"),
    ("invalid UTF-8", b'{"model": "haiku", "messages": [{"role": "user", "content": "\xff\xfe"}]}',
     400, "could not parse the JSON body"),
    ("empty body", b"", 400, "could not parse the JSON body"),
    ("a JSON array", b"[]", 400, "must be a JSON object"),
    ("100k nested arrays", nested(100_000), 400, "nested too deeply"),
    ("100k nested objects", nested(100_000, b'{"a": ', b"}"), 400, "nested too deeply"),
    ("a 5000-digit number", good(seed=0).replace(b'"seed": 0', b'"seed": ' + b"9" * 5000), 400,
     "could not parse the JSON body"),
    ("max_tokens 10**12", good(max_tokens=10**12), 400, "max_tokens must be an integer from 1"),
    ("max_tokens -1", good(max_tokens=-1), 400, "max_tokens must be an integer from 1"),
    ("max_tokens 'abc'", good(max_tokens="abc"), 400, "max_tokens must be an integer from 1"),
    ("max_tokens true", good(max_tokens=True), 400, "max_tokens must be an integer from 1"),
    ("max_completion_tokens 10**12", good(max_completion_tokens=10**12), 400,
     "max_completion_tokens must be an integer from 1"),
    ("seed 10**30", good(seed=10**30), 400, "seed must be a 64-bit integer"),
    ("temperature NaN", good(temperature=0).replace(b'"temperature": 0', b'"temperature": NaN'),
     400, "temperature must be a number between 0 and 2"),
    ("an unknown field", good(frobnicate=1), 400,
     "Unrecognized request argument supplied: frobnicate"),
    ("tools", good(tools=[{"type": "function"}]), 400, "tools is not supported"),
    ("model a number", good(model=5), 400, "you must provide a model parameter"),
    ("model null", good(model=None), 400, "you must provide a model parameter"),
    ("model 100k characters", good(model="x" * 100_000), 400, "at most 256 printable"),
    ("model with NUL", good(model="hai\x00ku"), 400, "at most 256 printable"),
    ("model unknown", good(model="no-such-model"), 404, "`no-such-model` does not exist"),
    ("messages a string", good(messages="hi"), 400, "messages must be a non-empty array"),
    ("messages empty", good(messages=[]), 400, "messages must be a non-empty array"),
    ("a message a number", good(messages=[1]), 400, "messages[0] must be an object"),
    ("a role unknown", good(messages=[{"role": "robot", "content": "x"}]), 400,
     "messages[0].role 'robot' is not supported"),
    ("content a number", good(messages=[{"role": "user", "content": 5}]), 400,
     "messages[0].content must be a string"),
    ("content a lone surrogate", good(messages=[{"role": "user", "content": "\ud800"}]), 400,
     "messages[0].content is not valid Unicode"),
    ("stream 'yes'", good(stream="yes"), 400, "stream must be a boolean"),
    ("routing key with NUL", good(user="key\x00"), 400, "user must not contain control"),
    ("routing key with CR LF", good(user="key\r\nX-Injected: 1"), 400,
     "user must not contain control"),
    ("routing key 300 characters", good(user="k" * 300), 400, "at most 256 characters"),
    ("routing key a number", good(user=5), 400, "user must be a string"),
    ("purpose with NUL", good(metadata={"purpose": "triage\x00"}), 400,
     "purpose must not contain control characters"),
    ("purpose with CR LF", good(metadata={"purpose": "a\r\nb"}), 400,
     "purpose must not contain control characters"),
    ("metadata values not strings", good(metadata={"purpose": ["a"]}), 400,
     "metadata must be an object of string values"),
]


def mismatch(what: str, answer: Answer, status: int, says: str) -> str | None:
    """None when the answer is `status`, JSON, and says `says`; else what it was."""
    text = answer.body.decode(errors="replace")
    if (answer.status, answer.headers.get("content-type")) == (status, "application/json") \
            and says in text:
        return None
    return f"{what}: {answer.status} {answer.headers.get('content-type')} {text[:300]}"


def test_gateway_answers_bad_bodies_with_a_clear_4xx(replica: Replica, api_key: str,
                                                     unchanged: None) -> None:
    wrong = [mismatch(what, post(replica.url, "/v1/chat/completions", api_key, body), status,
                      says) for what, body, status, says in GATEWAY_BODIES]
    assert [w for w in wrong if w] == []


def test_gateway_refuses_oversized_bodies_however_they_come(replica: Replica, api_key: str,
                                                            unchanged: None) -> None:
    body = good(messages=[{"role": "user", "content": "a" * (MAX_BODY + 1)}])
    for answer in (post(replica.url, "/v1/chat/completions", api_key, body),
                   post(replica.url, "/v1/chat/completions", api_key, chunked(body),
                        b"Transfer-Encoding: chunked", content_length=False)):
        assert answer.status == 413
        assert f"larger than this gateway accepts ({MAX_BODY} bytes)" in answer.message()
    # A Content-Length of a terabyte, and no body: answered at once, nothing waited for.
    answer = post(replica.url, "/v1/chat/completions", api_key, b"",
                  b"Content-Length: 1000000000000", content_length=False)
    assert answer.status == 413
    # A Content-Length smaller than the body: only the declared bytes are read.
    answer = post(replica.url, "/v1/chat/completions", api_key, body[:10],
                  b"Content-Length: 10", content_length=False)
    assert answer.status == 400
    assert "could not parse the JSON body" in answer.message()


LABEL_HEADERS = [
    # (what, header line, status, the message says; None: refused by the HTTP server itself)
    ("a bare CR", b"X-LLM-Purpose: tri\rage", 400, None),
    ("a bare LF", b"X-LLM-Purpose: tri\nage", 400, None),
    ("NUL", b"X-LLM-Purpose: tri\x00age", 400, None),
    ("a tab", b"X-LLM-Sub-Agent: a\tb", 400, "sub_agent must not contain control characters"),
    ("UTF-8", "X-LLM-Phase: caf\u00e9".encode(), 400, "X-LLM-Phase header must be ASCII"),
    ("Latin-1", b"X-LLM-Phase: caf\xe9", 400, "X-LLM-Phase header must be ASCII"),
    ("100 characters", b"X-LLM-Purpose: " + b"p" * 100, 400, "purpose must be at most 64"),
    ("64 KiB", b"X-LLM-Purpose: " + b"p" * 65536, 400, None),
    ("allow_local not a boolean", b"X-LLM-Allow-Local: perhaps", 400, "allow_local"),
]


def test_label_headers_cannot_inject(replica: Replica, api_key: str, fake_ollama: Any) -> None:
    wrong = []
    for what, header, status, says in LABEL_HEADERS:
        answer = post(replica.url, "/v1/chat/completions", api_key, good(), header)
        if says is None:  # uvicorn's own "Invalid HTTP request received." (text/plain)
            if answer.status != status:
                wrong.append(f"{what}: {answer.status} {answer.body[:200]!r}")
        elif problem := mismatch(what, answer, status, says):
            wrong.append(problem)
    assert wrong == []
    assert fake_ollama.served == 0
    # A CR LF ends the header line: the "injected" line is just another request header,
    # which the gateway does not read, and the answer's own routing header is intact.
    answer = post(replica.url, "/v1/chat/completions", api_key, good(),
                  b"X-LLM-Purpose: triage\r\nX-LLMControl-Routed-To: cloud")
    assert (answer.status, answer.headers["x-llmcontrol-routed-to"]) == (200, "local")
    wait_for(lambda: RequestMetric.objects.count() == 1, 60)
    assert list(RequestMetric.objects.values_list("purpose", "routed_to")) == [("triage", "local")]
    assert fake_ollama.served == 1
    assert "Traceback" not in replica.log_text()


METRIC = {"request_id": "r1", "attempt": 0, "tier": "haiku", "provider": "ollama",
          "model": "qwen3-coder:30b", "routed_to": "local", "bucket": 1, "stage": 100,
          "success": True, "latency_ms": 12.5, "created_at": "2026-01-01T00:00:00Z"}


def batch(**changes: Any) -> bytes:
    return json.dumps({"batch_id": "b-1", "records": [{**METRIC, **changes}]}).encode()


API_BODIES = [
    ("route", "not JSON", b'{"tier": ', 400, "JSON parse error"),
    ("route", "invalid UTF-8", b'{"purpose": "\xff"}', 400, "JSON parse error"),
    ("route", "100k nested arrays", b"[" * 100_000 + b"]" * 100_000, 400, "nested too deeply"),
    ("route", "an array", b"[1]", 400, "Expected a dictionary"),
    ("route", "an unknown field", b'{"tier": "haiku", "purpse": "triage"}', 400,
     '"purpse":["Unknown field."]'),
    ("route", "purpose with NUL", b'{"purpose": "a\\u0000b"}', 400, "Null characters"),
    ("route", "a routing key with CR LF", b'{"routing_key": "u1\\r\\nX-Admin: 1"}', 400,
     "Control characters are not allowed"),
    ("route", "a lone surrogate", b'{"routing_key": "\\ud800"}', 400, "Surrogate characters"),
    ("route", "routing key 300 characters", json.dumps({"routing_key": "k" * 300}).encode(), 400,
     "no more than 200 characters"),
    ("route", "tier unknown", b'{"tier": "huge"}', 400, "not a valid choice"),
    ("route", "over the size limit", json.dumps({"purpose": "a" * API_MAX_BODY}).encode(), 413,
     f"larger than this API accepts ({API_MAX_BODY} bytes)"),
    ("metrics", "100k nested objects", b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, 400,
     "nested too deeply"),
    ("metrics", "purpose with NUL", batch(purpose="a\x00b"), 400,
     "record 0 is invalid (purpose: Null characters"),
    ("metrics", "purpose with CR LF", batch(purpose="triage\r\nX-Admin: 1"), 400,
     "record 0 is invalid (purpose: Control characters are not allowed"),
    ("metrics", "a lone surrogate", batch(model="\ud800"), 400, "Surrogate characters"),
    ("metrics", "input_tokens 10**30", batch(input_tokens=10**30), 400,
     "record 0 is invalid (input_tokens"),
    ("metrics", "latency 1e400", batch(latency_ms=1.0).replace(b"1.0", b"1e400"), 400,
     "latency_ms"),
    ("metrics", "created_at in year 99999", batch(created_at="99999-01-01T00:00:00Z"), 400,
     "created_at"),
    ("metrics", "a bad batch id", json.dumps({"batch_id": "b\r\n1", "records": [METRIC]}).encode(),
     400, "batch_id"),
    ("metrics", "over the size limit", batch(purpose="p" * API_MAX_BODY), 413,
     "larger than this API accepts"),
]


def test_rest_api_answers_bad_bodies_with_a_clear_4xx(replica: Replica, api_key: str,
                                                      unchanged: None) -> None:
    wrong = [mismatch(f"{endpoint}: {what}", post(replica.url, f"/api/v1/{endpoint}", api_key,
                                                  body), status, says)
             for endpoint, what, body, status, says in API_BODIES]
    # Path segments go to database look-ups: a NUL there must not reach PostgreSQL.
    for path, status, says in (("rollouts/%00", 400, "NUL"),
                               ("rollouts/haiku%00/history", 400, "NUL"),
                               ("providers/%00ollama", 400, "NUL"),
                               ("providers/a%0D%0Ab", 404, "")):
        head = (f"GET /api/v1/{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {api_key}\r\n\r\n").encode()
        answer = exchange(replica.url, head)
        if answer.status != status or says not in answer.body.decode(errors="replace"):
            wrong.append(f"GET {path}: {answer.status} {answer.body[:200]!r}")
    assert [w for w in wrong if w] == []


def test_rest_api_reads_chunked_bodies_whole(replica: Replica, api_key: str,
                                             unchanged: None) -> None:
    """A body without Content-Length is not read as empty (it was routed as `{}`)."""

    def send(body: bytes) -> Answer:
        return post(replica.url, "/api/v1/route", api_key, chunked(body, size=7),
                    b"Transfer-Encoding: chunked", content_length=False)

    answer = send(b'{"tier": "haiku", "purpse": "triage"}')
    assert (answer.status, b'"purpse":["Unknown field."]' in answer.body) == (400, True)
    answer = send(json.dumps({"purpose": "a" * API_MAX_BODY}).encode())
    assert answer.status == 413 and b"larger than this API accepts" in answer.body
    answer = send(b'{"tier": "sonnet", "routing_key": "user-7"}')
    assert answer.status == 200, answer.body[:300]
    assert json.loads(answer.body)["tier"] == "sonnet"
