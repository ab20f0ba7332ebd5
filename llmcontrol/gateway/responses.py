"""Client results rendered as OpenAI chat completions and SSE chunks."""

from __future__ import annotations

import json
from typing import Any

from llmcontrol.client import LLMResult
from llmcontrol.providers import Usage

DONE = b"data: [DONE]\n\n"
# Providers' own stop words, mapped to OpenAI's.
FINISH_REASONS = {"stop": "stop", "end_turn": "stop", "stop_sequence": "stop", "STOP": "stop",
                  "length": "length", "max_tokens": "length", "MAX_TOKENS": "length",
                  "SAFETY": "content_filter", "content_filter": "content_filter"}


def finish_reason(raw: str | None) -> str:
    return FINISH_REASONS.get(raw or "stop", "stop")


def usage(u: Usage) -> dict[str, int]:
    return {"prompt_tokens": u.input_tokens, "completion_tokens": u.output_tokens,
            "total_tokens": u.input_tokens + u.output_tokens}


def completion(result: LLMResult, created: int) -> bytes:
    return json.dumps({
        "id": f"chatcmpl-{result.request_id}",
        "object": "chat.completion",
        "created": created,
        "model": result.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": result.content, "refusal": None},
            "finish_reason": finish_reason(result.finish_reason),
            "logprobs": None,
        }],
        "usage": usage(result.usage),
        "system_fingerprint": None,
    }).encode()


class ChunkWriter:
    """The SSE lines of one streamed completion, all with the same id."""

    def __init__(self, completion_id: str, model: str, created: int, include_usage: bool) -> None:
        self.head = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                     "model": model, "system_fingerprint": None}
        self.include_usage = include_usage

    def _event(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body = {**self.head, "choices": choices, **extra}
        if self.include_usage and "usage" not in extra:
            body["usage"] = None  # as OpenAI: null on every chunk but the last
        return b"data: " + json.dumps(body).encode() + b"\n\n"

    def role(self) -> bytes:
        return self._event([{"index": 0, "delta": {"role": "assistant", "content": ""},
                             "finish_reason": None, "logprobs": None}])

    def delta(self, text: str) -> bytes:
        return self._event([{"index": 0, "delta": {"content": text}, "finish_reason": None,
                             "logprobs": None}])

    def finish(self, result: LLMResult) -> bytes:
        return self._event([{"index": 0, "delta": {},
                             "finish_reason": finish_reason(result.finish_reason),
                             "logprobs": None}])

    def usage(self, result: LLMResult) -> bytes:
        return self._event([], usage=usage(result.usage))

    @staticmethod
    def error(body: dict[str, Any]) -> bytes:
        return b"data: " + json.dumps(body).encode() + b"\n\n"
