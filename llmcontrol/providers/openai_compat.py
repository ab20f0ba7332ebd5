"""OpenAI Chat Completions over httpx: OpenAI itself, llama.cpp, vLLM, LM Studio, Ollama `/v1`.

`base_url` is the server root WITHOUT `/v1` (`http://127.0.0.1:8080`); the
adapter adds `/v1/chat/completions`. A `/v1` that slipped into the setting, as
the OpenAI SDK's convention has it, is removed rather than doubled.
"""

from __future__ import annotations

from typing import Any

from llmcontrol.providers.assemble import End, Meta, Piece, Reasoning, Text, as_text
from llmcontrol.providers.base import ChatRequest, ErrorKind, HealthReport
from llmcontrol.providers.errors import error_details, kind_for_status, parse_retry_after
from llmcontrol.providers.httpbase import HttpAdapter, StreamDecoder
from llmcontrol.providers.wire import DONE, WireError

REASONING_EFFORT = {True: "medium", False: "none", "max": "high"}


class OpenAICompatibleAdapter(HttpAdapter):
    framing = "sse"
    version_suffix = "/v1"

    def _headers(self) -> dict[str, str]:
        key = self.config.api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _chat_call(self, model: str, request: ChatRequest,
                   stream: bool) -> tuple[str, dict[str, str], dict[str, Any]]:
        cloud = self.config.kind == "openai"
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        if request.system:
            messages.insert(0, {"role": "system", "content": request.system})
        body: dict[str, Any] = {
            "model": model, "messages": messages, "stream": stream,
            # Always explicit: Ollama's /v1 defaults an omitted temperature to 1.0.
            "temperature": request.temperature,
            # OpenAI's newer models refuse `max_tokens`; local servers only know it.
            ("max_completion_tokens" if cloud else "max_tokens"): request.max_tokens,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        if request.schema is not None:
            # OpenAI takes the json_schema format; llama-cpp-python accepts only
            # json_object (with an optional schema it compiles to a grammar), and
            # the other local servers treat that as JSON mode. The answer is
            # validated against the schema either way.
            body["response_format"] = (
                {"type": "json_schema", "json_schema": {"name": "answer", "schema": request.schema}}
                if cloud else {"type": "json_object", "schema": request.schema})
        elif request.json_mode:
            body["response_format"] = {"type": "json_object"}
        if request.think is not None:
            body["reasoning_effort"] = REASONING_EFFORT.get(request.think, request.think)
        if stream:
            body["stream_options"] = {"include_usage": True}
        return "/v1/chat/completions", {}, body

    def _reply_pieces(self, data: Any) -> list[Piece]:
        _raise_error_object(data)
        choice = data["choices"][0]
        message = choice["message"]
        pieces: list[Piece] = []
        if reasoning := _reasoning(message):
            pieces.append(Reasoning(reasoning))
        if content := as_text(message.get("content")):
            pieces.append(Text(content))
        usage = data.get("usage") or {}
        pieces.append(Meta(finish_reason=choice.get("finish_reason"),
                           input_tokens=usage.get("prompt_tokens"),
                           output_tokens=usage.get("completion_tokens")))
        return [*pieces, End()]

    def _stream_decoder(self) -> StreamDecoder:
        return OpenAIDecoder()

    def _status_error(self, status: int, headers: Any, body: str) -> WireError:
        message, _ = error_details(body)
        return WireError(kind_for_status(status), message, status_code=status,
                         retry_after=parse_retry_after(headers))

    def _health(self) -> HealthReport:
        data = self._get_json("/v1/models")
        models = [str(m["id"]) for m in data.get("data") or []]
        # A local OpenAI-compatible server lists what it serves, i.e. what is loaded.
        loaded = list(models) if self.config.is_local else []
        return HealthReport(ok=True, detail=f"{len(models)} model(s) listed", models=models,
                            loaded=loaded)


class OpenAIDecoder:
    def __init__(self) -> None:
        self.finished = False  # a finish_reason arrived

    def feed(self, event: str | None, data: Any) -> list[Piece]:
        if data is DONE:
            if not self.finished:
                # Every server sends one before [DONE]; llama.cpp's server, interrupted by
                # another request, sent [DONE] alone: a cut answer that looked complete.
                raise WireError(ErrorKind.INVALID_RESPONSE,
                                "stream ended with [DONE] but no finish_reason: the answer "
                                "may be cut short (truncated)")
            return [End()]
        if data is None:
            return []
        _raise_error_object(data)
        pieces: list[Piece] = []
        for choice in data.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if reasoning := _reasoning(delta):
                pieces.append(Reasoning(reasoning))
            if content := as_text(delta.get("content")):
                pieces.append(Text(content))
            if choice.get("finish_reason"):
                self.finished = True
                pieces.append(Meta(finish_reason=choice["finish_reason"]))
        if usage := data.get("usage"):  # the include_usage chunk (vLLM sends null elsewhere)
            pieces.append(Meta(input_tokens=usage["prompt_tokens"],
                               output_tokens=usage["completion_tokens"]))
        return pieces

    def close(self) -> list[Piece]:
        return []


def _raise_error_object(data: Any) -> None:
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    error = data.get("error")
    if error is None:
        return
    details = error if isinstance(error, dict) else {"message": str(error)}
    kind_hint = f"{details.get('type') or ''} {details.get('code') or ''}".lower()
    raise WireError(_kind_from_type(kind_hint), str(details.get("message") or error))


def _kind_from_type(hint: str) -> ErrorKind:
    if "rate_limit" in hint:
        return ErrorKind.RATE_LIMITED
    if "not_found" in hint:
        return ErrorKind.MODEL_NOT_FOUND
    if "auth" in hint or "permission" in hint:
        return ErrorKind.AUTH
    if "invalid_request" in hint:
        return ErrorKind.BAD_REQUEST
    return ErrorKind.SERVER_ERROR


def _reasoning(message: dict[str, Any]) -> str:
    # vLLM and DeepSeek say reasoning_content; Ollama's /v1 and OpenRouter say reasoning.
    return as_text(message.get("reasoning_content")) or as_text(message.get("reasoning"))
