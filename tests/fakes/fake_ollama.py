"""FakeOllama: Ollama's native API (`/api/chat` NDJSON, statistics in nanoseconds,
`{"error": ...}` bodies, `/api/tags`, `/api/ps`, `/api/version`, `/api/show`)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from tests.fakes.behaviours import HttpError, Reply
from tests.fakes.chat import ChatFake, Encoder
from tests.fakes.server import RecordedRequest, Responder

# The server statistics the fake reports, so tests can assert exact rates.
GENERATION_TPS = 50.0
PROMPT_TPS = 1000.0
CREATED_AT = "2025-01-01T00:00:00.000000Z"


class NdjsonEncoder(Encoder):
    content_type = "application/x-ndjson"

    def __init__(self, fake: FakeOllama, model: str) -> None:
        self.fake, self.model = fake, model

    def delta(self, text: str, reasoning: bool) -> list[bytes]:
        message = {"role": "assistant", "content": "", "thinking": text} if reasoning \
            else {"role": "assistant", "content": text}
        return [line({"model": self.model, "created_at": CREATED_AT, "message": message,
                      "done": False})]

    def close(self, reply: Reply) -> list[bytes]:
        final = self.fake.final_object(self.model, reply)
        final["message"] = {"role": "assistant", "content": ""}
        return [line(final)]

    def error(self, message: str, error_type: str | None) -> list[bytes]:
        return [line({"error": message})]

    def raw(self, text: str) -> bytes:
        return f"{text}\n".encode()


def line(payload: dict[str, Any]) -> bytes:
    return (json.dumps(payload) + "\n").encode()


class FakeOllama(ChatFake):
    kind = "ollama"
    default_models: ClassVar[list[str]] = ["llama3.2:3b", "qwen3-coder:30b"]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded: list[str] = self.models[:1]  # what /api/ps reports
        self.spill = False  # report the loaded model as partly in system RAM
        self.strict_models = False  # when True, unknown models get Ollama's 404
        self.thinking_models: set[str] | None = None  # None: all; else others refuse `think`

    def get_routes(self) -> dict[str, Any]:
        return {"/api/tags": self.tags, "/api/ps": self.ps,
                "/api/version": lambda: {"version": "0.12.6"}}

    def chat_target(self, request: RecordedRequest) -> tuple[str, bool] | None:
        if request.method != "POST" or request.path != "/api/chat":
            return None
        body = request.body if isinstance(request.body, dict) else {}
        return str(body.get("model", "")), bool(body.get("stream", True))  # streams by default

    def handle(self, request: RecordedRequest, out: Responder) -> None:
        if request.method == "POST" and request.path == "/api/show":
            model = (request.body or {}).get("model", "")
            capabilities = ["completion"]
            if self.thinking_models is None or model in self.thinking_models:
                capabilities.append("thinking")
            out.json(200, {"capabilities": capabilities, "details": {"family": "llama"}})
            return
        super().handle(request, out)

    def check(self, request: RecordedRequest) -> HttpError | None:
        body = request.body
        if request.method == "GET":
            return None
        if not isinstance(body, dict) or not body.get("model"):
            return HttpError(400, "model is required")
        model = body["model"]
        if self.strict_models and model not in self.models:
            return HttpError(404, f"model '{model}' not found")
        if body.get("think") and self.thinking_models is not None \
                and model not in self.thinking_models:
            return HttpError(400, f'"{model}" does not support thinking')
        return None

    def final_object(self, model: str, reply: Reply) -> dict[str, Any]:
        eval_ns = int(reply.output_tokens / GENERATION_TPS * 1e9)
        prompt_ns = int(reply.input_tokens / PROMPT_TPS * 1e9)
        return {
            "model": model, "created_at": CREATED_AT, "done": True,
            "done_reason": reply.finish_reason or "stop",
            "total_duration": eval_ns + prompt_ns + 1_000_000, "load_duration": 1_000_000,
            "prompt_eval_count": reply.input_tokens, "prompt_eval_duration": prompt_ns,
            "eval_count": reply.output_tokens, "eval_duration": eval_ns,
        }

    def reply_body(self, model: str, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.reasoning:
            message["thinking"] = reply.reasoning
        return {**self.final_object(model, reply), "message": message}

    def encoder(self, model: str, request: RecordedRequest) -> Encoder:
        return NdjsonEncoder(self, model)

    def error_response(self, error: HttpError) -> tuple[dict[str, Any], dict[str, str]]:
        return {"error": error.message}, {}

    def tags(self) -> dict[str, Any]:
        return {"models": [self._model_entry(name) for name in self.models]}

    def ps(self) -> dict[str, Any]:
        entries = []
        for name in self.loaded:
            entry = self._model_entry(name)
            entry.update(expires_at="2099-01-01T00:00:00Z", context_length=4096,
                         size_vram=entry["size"] // 2 if self.spill else entry["size"])
            entries.append(entry)
        return {"models": entries}

    def _model_entry(self, name: str) -> dict[str, Any]:
        return {"name": name, "model": name, "modified_at": CREATED_AT, "size": 2_019_393_189,
                "digest": "a80c4f17acd5" + "0" * 52,
                "details": {"format": "gguf", "family": "llama", "parameter_size": "3.2B",
                            "quantization_level": "Q4_K_M"}}
