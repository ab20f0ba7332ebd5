"""Calls to a replica's gateway as a caller sees them: the status, the routing headers, the
body or the SSE events, and how many metric rows the call should have left behind."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

from llmcontrol.routing.core import bucket_for

TIMEOUT = httpx.Timeout(120.0, connect=30.0)


@dataclass
class Outcome:
    status: int
    headers: dict[str, str]
    body: Any = None  # parsed JSON of a non-streamed answer
    events: list[Any] = field(default_factory=list)  # SSE data, parsed; "[DONE]" kept as is
    text: str = ""  # the streamed deltas, joined
    stream: bool = False
    error: str = ""  # a transport failure: the caller did not get an answer

    @property
    def routed_to(self) -> str:
        return self.headers.get("x-llmcontrol-routed-to", "")

    @property
    def fallback(self) -> bool:
        return self.headers.get("x-llmcontrol-fallback") == "true"

    @property
    def done(self) -> bool:
        return bool(self.events) and self.events[-1] == "[DONE]"

    @property
    def error_events(self) -> list[dict[str, Any]]:
        return [e for e in self.events if isinstance(e, dict) and "error" in e]

    @property
    def attempts(self) -> int:
        """Metric rows this call leaves: one per attempt; a fallback is two."""
        return 2 if self.fallback else 1


def local_keys(stage: int, count: int, prefix: str = "key") -> list[str]:
    """Routing keys whose bucket sends them local at `stage` (bucket < stage * 100)."""
    return _keys(lambda b: b < stage * 100, count, prefix)


def cloud_keys(stage: int, count: int, prefix: str = "key") -> list[str]:
    return _keys(lambda b: b >= stage * 100, count, prefix)


def _keys(wanted: Any, count: int, prefix: str) -> list[str]:
    found, i = [], 0
    while len(found) < count:
        key = f"{prefix}-{i}"
        if wanted(bucket_for(key)):
            found.append(key)
        i += 1
    return found


def chat(url: str, api_key: str, *, routing_key: str | None = None, stream: bool = False,
         model: str = "haiku", max_tokens: int = 16, content: str = "Say hello.",
         first_token: threading.Event | None = None, pieces: list[str] | None = None,
         **extra: Any) -> Outcome:
    """POST /v1/chat/completions. While a stream runs, `first_token` is set once its first
    text arrives and `pieces` gets each piece of text as it arrives."""
    body: dict[str, Any] = {"model": model, "stream": stream, "max_tokens": max_tokens,
                            "messages": [{"role": "user", "content": content}], **extra}
    if routing_key is not None:
        body["user"] = routing_key
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers,
                          timeout=TIMEOUT) as response:
            outcome = Outcome(response.status_code, dict(response.headers), stream=stream)
            if not stream or response.status_code != 200:
                response.read()
                try:
                    outcome.body = response.json()
                except ValueError:  # not the API's JSON: keep what came, for the assertion
                    outcome.body = {"status": response.status_code, "text": response.text[:3000]}
                return outcome
            for line in response.iter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[len("data: "):]
                event = data if data == "[DONE]" else json.loads(data)
                outcome.events.append(event)
                for choice in event.get("choices", []) if isinstance(event, dict) else []:
                    piece = choice.get("delta", {}).get("content")
                    if piece:
                        outcome.text += piece
                        if pieces is not None:
                            pieces.append(piece)
                        if first_token is not None:
                            first_token.set()
            return outcome
    except httpx.HTTPError as exc:
        return Outcome(0, {}, stream=stream, error=f"{type(exc).__name__}: {exc}")


def route(url: str, api_key: str, **fields: Any) -> dict[str, Any]:
    """POST /api/v1/route: the decision a replica would make now (no completion)."""
    response = httpx.post(f"{url}/api/v1/route", json=fields, timeout=TIMEOUT,
                          headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 200, response.text
    return response.json()
