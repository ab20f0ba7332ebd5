"""FakeGemini: the Gemini REST API (`/v1beta/models/{model}:generateContent`,
`:streamGenerateContent?alt=sse`, `x-goog-api-key`, candidates/parts/finishReason,
usageMetadata, `{"error": {"code", "message", "status", "details"}}`, `/v1beta/models`).

Only `alt=sse` streaming is spoken (the adapter's choice); without it the fake
answers 400, where the real API would stream a JSON array."""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from tests.fakes.behaviours import HttpError, Reply
from tests.fakes.chat import ChatFake, Encoder
from tests.fakes.server import RecordedRequest

STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
            404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
            504: "DEADLINE_EXCEEDED"}
CHAT_PATH = re.compile(r"^/v1beta/models/(?P<model>[^:/]+):(?P<method>generateContent|"
                       r"streamGenerateContent)$")


def event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\r\n\r\n".encode()  # Gemini ends events with CRLF


class GeminiChunkEncoder(Encoder):
    def __init__(self, model: str) -> None:
        self.model = model
        self.prompt_tokens = 0

    def open(self, reply: Reply) -> list[bytes]:
        self.prompt_tokens = reply.input_tokens
        return []

    def delta(self, text: str, reasoning: bool) -> list[bytes]:
        part: dict[str, Any] = {"text": text, "thought": True} if reasoning else {"text": text}
        return [event({"candidates": [{"content": {"parts": [part], "role": "model"},
                                       "index": 0}],
                       "usageMetadata": {"promptTokenCount": self.prompt_tokens},
                       "modelVersion": self.model})]

    def close(self, reply: Reply) -> list[bytes]:
        return [event({"candidates": [{"content": {"parts": [{"text": ""}], "role": "model"},
                                       "finishReason": reply.finish_reason or "STOP",
                                       "index": 0}],
                       "usageMetadata": usage(reply), "modelVersion": self.model})]

    def error(self, message: str, error_type: str | None) -> list[bytes]:
        return [event({"error": {"code": 500, "message": message,
                                 "status": error_type or "INTERNAL"}})]

    def raw(self, text: str) -> bytes:
        return f"data: {text}\r\n\r\n".encode()


def usage(reply: Reply) -> dict[str, int]:
    return {"promptTokenCount": reply.input_tokens, "candidatesTokenCount": reply.output_tokens,
            "totalTokenCount": reply.input_tokens + reply.output_tokens}


class FakeGemini(ChatFake):
    kind = "google"
    default_models: ClassVar[list[str]] = ["gemini-2.0-flash", "gemini-2.5-pro"]

    def get_routes(self) -> dict[str, Any]:
        return {"/v1beta/models": lambda: {"models": [
            {"name": f"models/{m}", "displayName": m,
             "supportedGenerationMethods": ["generateContent", "countTokens"]}
            for m in self.models]}}

    def chat_target(self, request: RecordedRequest) -> tuple[str, bool] | None:
        match = CHAT_PATH.match(request.path)
        if request.method != "POST" or match is None:
            return None
        return match["model"], match["method"] == "streamGenerateContent"

    def check(self, request: RecordedRequest) -> HttpError | None:
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if self.api_key and not key:
            return HttpError(403, "Method doesn't allow unregistered callers.")
        if self.api_key and key != self.api_key:
            return HttpError(400, "API key not valid. Please pass a valid API key.")
        if request.path.endswith(":streamGenerateContent") and request.query.get("alt") != "sse":
            return HttpError(400, "this fake streams only with alt=sse")
        if request.method == "POST" and not (
                isinstance(request.body, dict) and request.body.get("contents")):
            return HttpError(400, "* GenerateContentRequest.contents: contents is not specified")
        return None

    def reply_body(self, model: str, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        parts: list[dict[str, Any]] = []
        if reply.reasoning:
            parts.append({"text": reply.reasoning, "thought": True})
        parts.append({"text": reply.text})
        return {"candidates": [{"content": {"parts": parts, "role": "model"},
                                "finishReason": reply.finish_reason or "STOP", "index": 0}],
                "usageMetadata": usage(reply), "modelVersion": model, "responseId": "fake"}

    def encoder(self, model: str, request: RecordedRequest) -> Encoder:
        return GeminiChunkEncoder(model)

    def send_error(self, out: Any, error: HttpError) -> None:
        # Gemini says when to come back inside the body (google.rpc.RetryInfo), not in a header.
        body, headers = self.error_response(error)
        if error.retry_after_ms is not None:
            headers["retry-after-ms"] = str(error.retry_after_ms)
        out.json(error.status, body, headers)

    def error_response(self, error: HttpError) -> tuple[dict[str, Any], dict[str, str]]:
        details: list[dict[str, Any]] = []
        if error.retry_after is not None:
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": f"{error.retry_after}s"})
        body = {"error": {"code": error.status, "message": error.message,
                          "status": error.error_type or STATUSES.get(error.status, "UNKNOWN"),
                          "details": details}}
        return body, {}
