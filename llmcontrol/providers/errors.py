"""The error taxonomy, and the wire facts every adapter maps onto it.

Callers decide on `kind` alone (retry, fall back, give up), so each adapter's
job is to classify faithfully: the same failure reads the same whichever
provider produced it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

MAX_MESSAGE_CHARS = 500  # a 502 from a proxy can be a whole HTML page


class ErrorKind(StrEnum):
    UNAVAILABLE = "unavailable"  # nothing answered: connection refused, DNS, dropped before a reply
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"  # 5xx, overloaded, queue full, an error object mid-stream
    BAD_REQUEST = "bad_request"
    AUTH = "auth"
    MODEL_NOT_FOUND = "model_not_found"
    INVALID_RESPONSE = "invalid_response"  # malformed JSON, missing fields, truncated stream


RETRYABLE = frozenset(
    {ErrorKind.UNAVAILABLE, ErrorKind.TIMEOUT, ErrorKind.RATE_LIMITED, ErrorKind.SERVER_ERROR}
)


class ProviderError(Exception):
    """One failed provider call, classified.

    `partial` is True when a stream failed after it had already yielded deltas:
    nobody may retry or fall back silently then. `attempts` counts the tries
    made before this error was given up on.
    """

    def __init__(self, kind: ErrorKind, message: str, *, provider: str, model: str = "",
                 status_code: int | None = None, retry_after: float | None = None,
                 partial: bool = False, attempts: int = 1) -> None:
        super().__init__(kind, message)
        self.kind = ErrorKind(kind)
        self.message = message
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.retry_after = retry_after
        self.partial = partial
        self.attempts = attempts

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    def __str__(self) -> str:
        where = f"{self.provider}/{self.model}" if self.model else self.provider
        extra = f" (HTTP {self.status_code})" if self.status_code is not None else ""
        if self.retry_after is not None:
            extra += f" (retry after {self.retry_after:g}s)"
        if self.partial:
            extra += " (after partial output)"
        message = " ".join(self.message.split())  # one line, whatever the server sent
        return f"{where}: {self.kind}: {message}{extra}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments defeat Exception's default pickling (task queues pickle errors).
        return (_rebuild_error, (self.kind, self.message, self.__dict__.copy()))


def _rebuild_error(kind: ErrorKind, message: str, state: dict[str, Any]) -> ProviderError:
    error = ProviderError(kind, message, provider=state["provider"])
    error.__dict__.update(state)
    return error


def kind_for_status(status: int) -> ErrorKind:
    """The kind an HTTP error status means, before any provider-specific refinement."""
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 404:
        return ErrorKind.MODEL_NOT_FOUND
    if status == 408:
        return ErrorKind.TIMEOUT
    if status >= 500:  # includes Anthropic's 529 overloaded and Ollama's 503 queue full
        return ErrorKind.SERVER_ERROR
    if 400 <= status < 500:
        return ErrorKind.BAD_REQUEST
    return ErrorKind.INVALID_RESPONSE  # a redirect or 1xx where a reply was due


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: `retry-after-ms`, else `Retry-After`
    as seconds or an HTTP date. None when absent or unreadable."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT by definition
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_details(body: str) -> tuple[str, str]:
    """(message, error type) from an error body of any of the supported shapes:
    Ollama `{"error": "..."}`, OpenAI/Anthropic `{"error": {"message", "type"}}`,
    Gemini `{"error": {"message", "status"}}`, FastAPI `{"detail": ...}`."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    message, error_type = "", ""
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, str):
            message = error
        elif isinstance(error, dict):
            message = str(error.get("message") or error.get("detail") or "")
            error_type = str(error.get("type") or error.get("status") or error.get("code") or "")
    if not message:
        message = body.strip() or "(empty body)"
    return clip(message), error_type


def clip(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= MAX_MESSAGE_CHARS else message[:MAX_MESSAGE_CHARS] + "…"
