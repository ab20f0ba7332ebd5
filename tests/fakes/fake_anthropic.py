"""FakeAnthropic: the Messages API (`POST /v1/messages`, `x-api-key`, `anthropic-version`,
content blocks, the SSE event sequence with `ping`, mid-stream `error` events,
`{"type": "error", "error": {...}}` bodies, `request-id`, `GET /v1/models`)."""

from __future__ import annotations

from typing import Any, ClassVar

from tests.fakes.behaviours import HttpError, Reply
from tests.fakes.chat import ChatFake, Encoder, sse
from tests.fakes.server import RecordedRequest

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large",
               429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}


class MessageEventEncoder(Encoder):
    """message_start, ping, one content block per channel (thinking, then text),
    message_delta with stop_reason and output usage, message_stop."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.index = -1
        self.open_block: str | None = None

    def open(self, reply: Reply) -> list[bytes]:
        message = {"id": "msg_fake", "type": "message", "role": "assistant",
                   "model": self.model, "content": [], "stop_reason": None,
                   "stop_sequence": None,
                   "usage": {"input_tokens": reply.input_tokens, "output_tokens": 1}}
        return [sse({"type": "message_start", "message": message}, "message_start"),
                sse({"type": "ping"}, "ping")]

    def delta(self, text: str, reasoning: bool) -> list[bytes]:
        wanted = "thinking" if reasoning else "text"
        frames = []
        if self.open_block != wanted:
            frames += self._stop_block()
            self.index += 1
            self.open_block = wanted
            block = {"type": "thinking", "thinking": ""} if reasoning \
                else {"type": "text", "text": ""}
            frames.append(sse({"type": "content_block_start", "index": self.index,
                               "content_block": block}, "content_block_start"))
        delta = {"type": "thinking_delta", "thinking": text} if reasoning \
            else {"type": "text_delta", "text": text}
        frames.append(sse({"type": "content_block_delta", "index": self.index, "delta": delta},
                          "content_block_delta"))
        return frames

    def _stop_block(self) -> list[bytes]:
        if self.open_block is None:
            return []
        frames = []
        if self.open_block == "thinking":
            frames.append(sse({"type": "content_block_delta", "index": self.index,
                               "delta": {"type": "signature_delta", "signature": "fake-sig"}},
                              "content_block_delta"))
        self.open_block = None
        return [*frames, sse({"type": "content_block_stop", "index": self.index},
                             "content_block_stop")]

    def close(self, reply: Reply) -> list[bytes]:
        frames = [] if self.open_block == "text" else self.delta("", False)
        frames += self._stop_block()
        frames.append(sse({"type": "message_delta",
                           "delta": {"stop_reason": reply.finish_reason or "end_turn",
                                     "stop_sequence": None},
                           "usage": {"output_tokens": reply.output_tokens}}, "message_delta"))
        return [*frames, sse({"type": "message_stop"}, "message_stop")]

    def error(self, message: str, error_type: str | None) -> list[bytes]:
        return [sse({"type": "error", "error": {"type": error_type or "overloaded_error",
                                                "message": message}}, "error")]

    def raw(self, text: str) -> bytes:
        return f"event: content_block_delta\ndata: {text}\n\n".encode()


class FakeAnthropic(ChatFake):
    kind = "anthropic"
    default_models: ClassVar[list[str]] = ["claude-haiku-3-5-20241022", "claude-sonnet-4-20250514"]

    def get_routes(self) -> dict[str, Any]:
        data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                for m in self.models]
        return {"/v1/models": lambda: {"data": data, "has_more": False,
                                       "first_id": data[0]["id"] if data else None,
                                       "last_id": data[-1]["id"] if data else None}}

    def chat_target(self, request: RecordedRequest) -> tuple[str, bool] | None:
        if request.method != "POST" or request.path != "/v1/messages":
            return None
        body = request.body if isinstance(request.body, dict) else {}
        return str(body.get("model", "")), bool(body.get("stream", False))

    def check(self, request: RecordedRequest) -> HttpError | None:
        if self.api_key and request.headers.get("x-api-key") != self.api_key:
            return HttpError(401, "invalid x-api-key")
        if "anthropic-version" not in request.headers:
            return HttpError(400, "anthropic-version: header is required")
        if request.method == "GET":
            return None
        body = request.body if isinstance(request.body, dict) else {}
        if "max_tokens" not in body:
            return HttpError(400, "max_tokens: Field required")
        for i, message in enumerate(body.get("messages") or []):
            if message.get("role") not in ("user", "assistant"):
                return HttpError(400, f"messages.{i}.role: Input should be 'user' or 'assistant'")
        return None

    def reply_body(self, model: str, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if reply.reasoning:
            content.append({"type": "thinking", "thinking": reply.reasoning,
                            "signature": "fake-sig"})
        content.append({"type": "text", "text": reply.text})
        return {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                "content": content, "stop_reason": reply.finish_reason or "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": reply.input_tokens,
                          "output_tokens": reply.output_tokens}}

    def encoder(self, model: str, request: RecordedRequest) -> Encoder:
        return MessageEventEncoder(model)

    def error_response(self, error: HttpError) -> tuple[dict[str, Any], dict[str, str]]:
        body = {"type": "error", "error": {
            "type": error.error_type or ERROR_TYPES.get(error.status, "api_error"),
            "message": error.message}}
        return body, {"request-id": "req_fake"}
