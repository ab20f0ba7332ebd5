"""Google Gemini over its REST API (httpx): `:generateContent` and `:streamGenerateContent?alt=sse`.

`base_url` is the host root (`https://generativelanguage.googleapis.com`); the
adapter adds `/v1beta/models/{model}:...`. The key travels in
`x-goog-api-key`, never in the query string (URLs end up in logs).
"""

from __future__ import annotations

import re
from typing import Any

from llmcontrol.providers.assemble import End, Meta, Piece, Reasoning, Text, as_text
from llmcontrol.providers.base import ChatRequest, ErrorKind, HealthReport
from llmcontrol.providers.errors import clip, kind_for_status, parse_retry_after
from llmcontrol.providers.httpbase import HttpAdapter, StreamDecoder
from llmcontrol.providers.wire import WireError, load_json

FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}  # others (SAFETY, ...) stay raw
STATUS_KINDS = {
    "RESOURCE_EXHAUSTED": ErrorKind.RATE_LIMITED,
    "UNAVAILABLE": ErrorKind.SERVER_ERROR,
    "INTERNAL": ErrorKind.SERVER_ERROR,
    "UNKNOWN": ErrorKind.SERVER_ERROR,
    "DEADLINE_EXCEEDED": ErrorKind.TIMEOUT,
    "INVALID_ARGUMENT": ErrorKind.BAD_REQUEST,
    "FAILED_PRECONDITION": ErrorKind.BAD_REQUEST,
    "UNAUTHENTICATED": ErrorKind.AUTH,
    "PERMISSION_DENIED": ErrorKind.AUTH,
    "NOT_FOUND": ErrorKind.MODEL_NOT_FOUND,
}


class GeminiAdapter(HttpAdapter):
    framing = "sse"
    version_suffix = "/v1beta"

    def _headers(self) -> dict[str, str]:
        key = self.config.api_key
        return {"x-goog-api-key": key} if key else {}

    def _chat_call(self, model: str, request: ChatRequest,
                   stream: bool) -> tuple[str, dict[str, str], dict[str, Any]]:
        config: dict[str, Any] = {"temperature": request.temperature,
                                  "maxOutputTokens": request.max_tokens}
        if request.stop:
            config["stopSequences"] = list(request.stop)
        if request.seed is not None:
            config["seed"] = request.seed
        if request.wants_json:
            config["responseMimeType"] = "application/json"
        if request.schema is not None:
            config["responseSchema"] = request.schema  # Gemini reads an OpenAPI subset of it
        if request.think is False:
            config["thinkingConfig"] = {"thinkingBudget": 0}
        elif request.think is not None:
            config["thinkingConfig"] = {"includeThoughts": True}
        body: dict[str, Any] = {
            "contents": [{"role": "model" if m.role == "assistant" else "user",
                          "parts": [{"text": m.content}]} for m in request.messages],
            "generationConfig": config,
        }
        if request.system:
            body["systemInstruction"] = {"parts": [{"text": request.system}]}
        name = model.removeprefix("models/")
        if stream:
            return f"/v1beta/models/{name}:streamGenerateContent", {"alt": "sse"}, body
        return f"/v1beta/models/{name}:generateContent", {}, body

    def _reply_pieces(self, data: Any) -> list[Piece]:
        pieces = chunk_pieces(data)
        if not any(isinstance(p, Meta) and p.finish_reason for p in pieces):
            raise KeyError("finishReason")
        return [*pieces, End()]

    def _stream_decoder(self) -> StreamDecoder:
        return GeminiDecoder()

    def _status_error(self, status: int, headers: Any, body: str) -> WireError:
        try:
            error = load_json(body, "error body")["error"]
            message, code = str(error.get("message") or ""), str(error.get("status") or "")
        except (WireError, KeyError, TypeError, AttributeError):
            error, message, code = {}, body, ""
        retry_after = parse_retry_after(headers)
        if retry_after is None:
            retry_after = _retry_delay(error)
        return WireError(_kind(code, message, kind_for_status(status)), clip(message or body),
                         status_code=status, retry_after=retry_after)

    def _health(self) -> HealthReport:
        data = self._get_json("/v1beta/models")
        models = [str(m["name"]).removeprefix("models/") for m in data.get("models") or []]
        return HealthReport(ok=True, detail=f"{len(models)} model(s) listed", models=models)


def _kind(status: str, message: str, fallback: ErrorKind) -> ErrorKind:
    if status == "INVALID_ARGUMENT" and "api key" in message.lower():
        return ErrorKind.AUTH  # Gemini answers a bad key with 400 INVALID_ARGUMENT
    return STATUS_KINDS.get(status, fallback)


def _retry_delay(error: Any) -> float | None:
    """google.rpc.RetryInfo's `retryDelay` ("30s", "1.5s"), when the error carries one."""
    for detail in (error.get("details") or []) if isinstance(error, dict) else []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and (match := re.fullmatch(r"(\d+(?:\.\d+)?)s", delay)):
            return float(match.group(1))
    return None


def chunk_pieces(data: Any) -> list[Piece]:
    """One GenerateContentResponse: a whole reply, or one chunk of a stream."""
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    if "error" in data:  # a stream can end with an error object instead of a chunk
        error = data["error"]
        message = str(error.get("message") or error)
        raise WireError(_kind(str(error.get("status") or ""), message, ErrorKind.SERVER_ERROR),
                        message, retry_after=_retry_delay(error))
    pieces: list[Piece] = []
    finish: str | None = None
    candidates = data.get("candidates")
    if candidates:
        candidate = candidates[0]
        for part in (candidate.get("content") or {}).get("parts") or []:
            if text := as_text(part.get("text")):
                pieces.append(Reasoning(text) if part.get("thought") else Text(text))
        raw = candidate.get("finishReason")
        finish = FINISH_REASONS.get(raw, raw) if raw else None
    elif block := (data.get("promptFeedback") or {}).get("blockReason"):
        finish = str(block)  # the prompt itself was refused: an empty answer, said why
    elif "usageMetadata" not in data:  # a usage-only chunk is fine mid-stream; nothing is not
        raise KeyError("candidates")
    usage = data.get("usageMetadata") or {}
    output = None
    if "candidatesTokenCount" in usage or "thoughtsTokenCount" in usage:
        # Thinking tokens are billed as output, as Ollama's eval_count counts them.
        output = int(usage.get("candidatesTokenCount", 0)) + int(usage.get("thoughtsTokenCount", 0))
    if finish or usage:
        pieces.append(Meta(finish_reason=finish, input_tokens=usage.get("promptTokenCount"),
                           output_tokens=output))
    return pieces


class GeminiDecoder:
    """Gemini streams have no end marker: the end is a finishReason, then the connection closes."""

    def __init__(self) -> None:
        self._finished = False

    def feed(self, event: str | None, data: Any) -> list[Piece]:
        if data is None:
            return []
        pieces = chunk_pieces(data)
        self._finished = self._finished or any(
            isinstance(p, Meta) and p.finish_reason for p in pieces)
        return pieces

    def close(self) -> list[Piece]:
        return [End()] if self._finished else []
