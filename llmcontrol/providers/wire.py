"""Stream framing: NDJSON (Ollama) and server-sent events (OpenAI, Anthropic, Gemini).

Both parsers are fed one line at a time (httpx splits lines for us) and hand
back parsed JSON payloads. Anything that is not JSON where JSON is due raises
WireError(invalid_response): a proxy's HTML page or a half-written line must
not be mistaken for an empty answer.
"""

from __future__ import annotations

import json
from typing import Any

from llmcontrol.providers.errors import ErrorKind

DONE = object()  # the OpenAI `data: [DONE]` sentinel

Frame = tuple[str | None, Any]  # (SSE event name or None, JSON payload or DONE)


class WireError(Exception):
    """A protocol-level failure found while decoding; the adapter adds provider and model."""

    def __init__(self, kind: ErrorKind, message: str, *, status_code: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message
        self.status_code, self.retry_after = status_code, retry_after


def load_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        snippet = text if len(text) <= 80 else text[:80] + "…"
        raise WireError(ErrorKind.INVALID_RESPONSE, f"{what} is not JSON: {snippet!r}") from None


class NdjsonFrames:
    def feed_line(self, line: str) -> list[Frame]:
        if not line.strip():
            return []
        return [(None, load_json(line, "stream line"))]

    def close(self) -> list[Frame]:
        return []


class SseFrames:
    """The parts of the SSE spec providers use: `event:`, `data:` (possibly on
    several lines), comments (`:` keep-alives) and a blank line to dispatch."""

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []

    def feed_line(self, line: str) -> list[Frame]:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return []
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return []  # id:, retry: and unknown fields are ignored, as the spec says

    def close(self) -> list[Frame]:
        return self._dispatch()  # a last event without its blank line still counts

    def _dispatch(self) -> list[Frame]:
        event, data = self._event, "\n".join(self._data)
        self._event, self._data = None, []
        if not data and event is None:
            return []
        if data.strip() == "[DONE]":
            return [(event, DONE)]
        return [(event, load_json(data, "event data") if data else None)]
