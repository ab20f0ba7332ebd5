"""Ollama's native API: `POST /api/chat`, NDJSON streaming, statistics in nanoseconds.

Why native rather than Ollama's `/v1`: only the native API reports the
server's own token timings (`eval_count` / `eval_duration`), separates
`message.thinking`, takes `think` and `keep_alive`, and keeps its sampling
defaults (on `/v1` an omitted temperature means 1.0).
"""

from __future__ import annotations

from typing import Any

from llmcontrol.providers.assemble import End, Meta, Piece, Reasoning, Text, as_text
from llmcontrol.providers.base import ChatRequest, ErrorKind, HealthReport
from llmcontrol.providers.errors import error_details, kind_for_status, parse_retry_after
from llmcontrol.providers.httpbase import HttpAdapter, StreamDecoder
from llmcontrol.providers.wire import WireError


class OllamaAdapter(HttpAdapter):
    framing = "ndjson"
    version_suffix = "/api"

    def _chat_call(self, model: str, request: ChatRequest,
                   stream: bool) -> tuple[str, dict[str, str], dict[str, Any]]:
        # Ollama ignores `max_tokens`: the cap is options.num_predict.
        options: dict[str, Any] = {"temperature": request.temperature,
                                   "num_predict": request.max_tokens}
        if request.seed is not None:
            options["seed"] = request.seed
        if request.stop:
            options["stop"] = list(request.stop)
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        if request.system:
            messages.insert(0, {"role": "system", "content": request.system})
        body: dict[str, Any] = {"model": model, "messages": messages,
                                # always explicit: Ollama streams when `stream` is absent
                                "stream": stream, "options": options}
        if request.schema is not None:
            body["format"] = request.schema
        elif request.json_mode:
            body["format"] = "json"
        if request.think is not None:
            body["think"] = request.think
        if request.keep_alive is not None:
            body["keep_alive"] = request.keep_alive
        return "/api/chat", {}, body

    def _reply_pieces(self, data: Any) -> list[Piece]:
        return object_pieces(data)

    def _stream_decoder(self) -> StreamDecoder:
        return OllamaDecoder()

    def _status_error(self, status: int, headers: Any, body: str) -> WireError:
        message, _ = error_details(body)
        return WireError(refine_kind(kind_for_status(status), message), message,
                         status_code=status, retry_after=parse_retry_after(headers))

    def _health(self) -> HealthReport:
        tags = self._get_json("/api/tags")
        running = self._get_json("/api/ps")
        models = [str(m["name"]) for m in tags.get("models") or []]
        loaded = [str(m["name"]) for m in running.get("models") or []]
        detail = f"{len(models)} model(s) installed, {len(loaded)} loaded"
        for m in running.get("models") or []:
            size, vram = m.get("size") or 0, m.get("size_vram") or 0
            if size > vram:  # spilled to system RAM: generation will be much slower
                detail += f"; {m['name']} has {vram / size:.0%} in VRAM"
        return HealthReport(ok=True, detail=detail, models=models, loaded=loaded)


def refine_kind(kind: ErrorKind, message: str) -> ErrorKind:
    """Ollama says what went wrong in prose; two messages matter to routing."""
    text = message.lower()
    if "not found" in text and "model" in text:
        return ErrorKind.MODEL_NOT_FOUND  # "model 'x' not found, try pulling it first"
    if "does not support" in text:
        return ErrorKind.BAD_REQUEST  # '"x" does not support thinking'
    return kind


def object_pieces(data: Any) -> list[Piece]:
    """One reply object (a whole reply, or one NDJSON stream line)."""
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    if "error" in data:  # may arrive mid-stream while the HTTP status stays 200
        message = str(data["error"])
        raise WireError(refine_kind(ErrorKind.SERVER_ERROR, message), message)
    message = data.get("message") or {}
    pieces: list[Piece] = []
    if thinking := as_text(message.get("thinking")):
        pieces.append(Reasoning(thinking))
    if content := as_text(message.get("content")):
        pieces.append(Text(content))
    if data["done"]:
        # Statistics come only in the final object; zero values may be absent.
        pieces.append(Meta(
            finish_reason=data.get("done_reason"),
            input_tokens=int(data.get("prompt_eval_count") or 0),
            output_tokens=int(data.get("eval_count") or 0),
            eval_count=data.get("eval_count"),
            eval_duration_ns=data.get("eval_duration"),
            prompt_eval_count=data.get("prompt_eval_count"),
            prompt_eval_duration_ns=data.get("prompt_eval_duration"),
        ))
        pieces.append(End())
    return pieces


class OllamaDecoder:
    def feed(self, event: str | None, data: Any) -> list[Piece]:
        return object_pieces(data)

    def close(self) -> list[Piece]:
        return []
