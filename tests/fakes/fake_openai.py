"""FakeOpenAI: the OpenAI Chat Completions protocol as OpenAI, llama.cpp and vLLM speak it
(`/v1/chat/completions`, SSE `data:` chunks, a usage chunk when asked, `data: [DONE]`,
`{"error": {"message", "type", "param", "code"}}` bodies, `/v1/models`)."""

from __future__ import annotations

from typing import Any, ClassVar

from tests.fakes.behaviours import HttpError, Reply
from tests.fakes.chat import ChatFake, Encoder, sse
from tests.fakes.server import RecordedRequest, now

ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error",
               403: "invalid_request_error", 404: "invalid_request_error",
               429: "requests", 500: "server_error", 503: "server_error"}
ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


class SseChunkEncoder(Encoder):
    def __init__(self, fake: FakeOpenAI, model: str, include_usage: bool) -> None:
        self.fake, self.model, self.include_usage = fake, model, include_usage

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return sse({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": now(),
                    "model": self.model, "choices": choices, **extra})

    def open(self, reply: Reply) -> list[bytes]:
        return [self._chunk([{"index": 0, "delta": {"role": "assistant", "content": ""},
                              "finish_reason": None}])]

    def delta(self, text: str, reasoning: bool) -> list[bytes]:
        delta = {self.fake.reasoning_field: text} if reasoning else {"content": text}
        return [self._chunk([{"index": 0, "delta": delta, "finish_reason": None}])]

    def close(self, reply: Reply) -> list[bytes]:
        frames = [self._chunk([{"index": 0, "delta": {},
                                "finish_reason": reply.finish_reason or "stop"}])]
        if self.include_usage and reply.include_usage:
            frames.append(self._chunk([], usage=usage(reply)))
        return [*frames, b"data: [DONE]\n\n"]

    def done(self) -> list[bytes]:
        return [b"data: [DONE]\n\n"]

    def error(self, message: str, error_type: str | None) -> list[bytes]:
        return [sse({"error": {"message": message, "type": error_type or "server_error",
                               "param": None, "code": None}})]


def usage(reply: Reply) -> dict[str, int]:
    return {"prompt_tokens": reply.input_tokens, "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens}


class FakeOpenAI(ChatFake):
    kind = "openai_compatible"
    default_models: ClassVar[list[str]] = ["smollm2-135m-instruct", "gpt-4o-mini"]
    # vLLM and llama.cpp say reasoning_content; set "reasoning" to act as Ollama's /v1.
    reasoning_field = "reasoning_content"

    def get_routes(self) -> dict[str, Any]:
        return {"/v1/models": lambda: {"object": "list", "data": [
            {"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"}
            for m in self.models]}}

    def chat_target(self, request: RecordedRequest) -> tuple[str, bool] | None:
        if request.method != "POST" or request.path != "/v1/chat/completions":
            return None
        body = request.body if isinstance(request.body, dict) else {}
        return str(body.get("model", "")), bool(body.get("stream", False))

    def check(self, request: RecordedRequest) -> HttpError | None:
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return HttpError(401, "Incorrect API key provided.")
        if request.method == "POST" and not (
                isinstance(request.body, dict) and request.body.get("messages")):
            return HttpError(400, "'messages' is a required property")
        return None

    def reply_body(self, model: str, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.reasoning:
            message[self.reasoning_field] = reply.reasoning
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": now(),
                "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": reply.finish_reason or "stop"}],
                "usage": usage(reply)}

    def encoder(self, model: str, request: RecordedRequest) -> Encoder:
        body = request.body if isinstance(request.body, dict) else {}
        include = bool((body.get("stream_options") or {}).get("include_usage"))
        return SseChunkEncoder(self, model, include)

    def error_response(self, error: HttpError) -> tuple[dict[str, Any], dict[str, str]]:
        headers = {}
        if error.status == 429:
            headers = {"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "0"}
        return {"error": {"message": error.message,
                          "type": error.error_type or ERROR_TYPES.get(error.status, "api_error"),
                          "param": None, "code": ERROR_CODES.get(error.status)}}, headers
