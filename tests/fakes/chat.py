"""The behaviour-driven part every fake shares; protocols supply bodies and stream frames."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from tests.fakes.behaviours import (
    Behaviour,
    Drop,
    HttpError,
    Malformed,
    MidStreamError,
    Reply,
    Truncated,
)
from tests.fakes.server import FakeServer, RecordedRequest, Responder


class Encoder:
    """Bytes of one stream, in the protocol's framing. Stateful where the protocol is
    (Anthropic's content blocks), so one instance serves one stream."""

    content_type: ClassVar[str] = "text/event-stream"

    def open(self, reply: Reply) -> list[bytes]:
        return []

    def delta(self, text: str, reasoning: bool) -> list[bytes]:
        raise NotImplementedError

    def close(self, reply: Reply) -> list[bytes]:
        raise NotImplementedError

    def error(self, message: str, error_type: str | None) -> list[bytes]:
        raise NotImplementedError

    def raw(self, text: str) -> bytes:
        return f"data: {text}\n\n".encode()


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


class ChatFake(FakeServer):
    # Protocol hooks

    def get_routes(self) -> dict[str, Callable[[], Any]]:
        return {}

    def chat_target(self, request: RecordedRequest) -> tuple[str, bool] | None:
        """(model, streaming) when the request is a chat call, else None."""
        raise NotImplementedError

    def check(self, request: RecordedRequest) -> HttpError | None:
        """Authentication and the protocol's own request validation."""
        return None

    def reply_body(self, model: str, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        raise NotImplementedError

    def encoder(self, model: str, request: RecordedRequest) -> Encoder:
        raise NotImplementedError

    def error_response(self, error: HttpError) -> tuple[dict[str, Any], dict[str, str]]:
        """(body, headers) of an error status in this protocol."""
        raise NotImplementedError

    # The shared flow

    def handle(self, request: RecordedRequest, out: Responder) -> None:
        route = self.get_routes().get(request.path) if request.method == "GET" else None
        if route is not None:
            problem = self.check(request)
            if problem is not None:
                self.send_error(out, problem)
            else:
                out.json(200, route())
            return
        target = self.chat_target(request)
        if target is None:
            self.send_error(out, HttpError(404, f"no route for {request.method} {request.path}"))
            return
        problem = self.check(request)
        if problem is not None:
            self.send_error(out, problem)
            return
        model, streaming = target
        self.perform(self.behaviour_for(request), request, out, model, streaming)

    def send_error(self, out: Responder, error: HttpError) -> None:
        body, headers = self.error_response(error)
        if error.retry_after is not None:
            headers["retry-after"] = str(error.retry_after)
        if error.retry_after_ms is not None:
            headers["retry-after-ms"] = str(error.retry_after_ms)
        out.json(error.status, body, headers)

    def perform(self, behaviour: Behaviour, request: RecordedRequest, out: Responder,
                model: str, streaming: bool) -> None:
        encoder = self.encoder(model, request)
        if isinstance(behaviour, Reply):
            out.wait(behaviour.delay_s)
            if not streaming:
                out.json(200, self.reply_body(model, behaviour, request))
                return
            out.start_stream(encoder.content_type)
            out.frames(encoder.open(behaviour))
            pieces = [(t, True) for t in behaviour.reasoning_pieces()]
            pieces += [(t, False) for t in behaviour.text_pieces()]
            for i, (text, reasoning) in enumerate(pieces):
                if i:
                    out.wait(behaviour.chunk_delay_s)
                out.frames(encoder.delta(text, reasoning))
            out.frames(encoder.close(behaviour))
            out.end_stream()
        elif isinstance(behaviour, HttpError):
            out.wait(behaviour.delay_s)
            self.send_error(out, behaviour)
        elif isinstance(behaviour, MidStreamError):
            if not streaming:
                self.send_error(out, HttpError(500, behaviour.message, behaviour.error_type))
                return
            self._partial(out, encoder, behaviour.chunks, behaviour.chunk_delay_s)
            out.frames(encoder.error(behaviour.message, behaviour.error_type))
            out.end_stream()
        elif isinstance(behaviour, Malformed):
            content_type = behaviour.content_type
            if streaming:
                out.start_stream(content_type or encoder.content_type, behaviour.status)
                out.chunk(encoder.raw(behaviour.body))
                out.end_stream()
            else:
                out.send(behaviour.status, behaviour.body, content_type or "application/json")
        elif isinstance(behaviour, Truncated):
            if streaming:
                self._partial(out, encoder, behaviour.chunks)
                if behaviour.done_marker:
                    out.frames(encoder.done())  # type: ignore[attr-defined]
                out.end_stream()  # a clean end of body, but no end marker (or no finish)
            else:
                full = json.dumps(self.reply_body(model, Reply(), request))
                out.send(200, full[: len(full) // 2])
        elif isinstance(behaviour, Drop):
            if behaviour.after_chunks is None:
                out.drop()
            elif streaming:
                self._partial(out, encoder, behaviour.after_chunks)
                out.drop()
            else:  # promise the whole body, send half, hang up
                full = json.dumps(self.reply_body(model, Reply(), request)).encode()
                out.send(200, full[: len(full) // 2], content_length=len(full))
                out.drop()
        else:  # pragma: no cover - a new behaviour type without a rendering
            raise TypeError(f"unknown behaviour {behaviour!r}")

    def _partial(self, out: Responder, encoder: Encoder, chunks: list[str],
                 delay_s: float = 0.0) -> None:
        out.start_stream(encoder.content_type)
        out.frames(encoder.open(Reply()))
        for i, text in enumerate(chunks):
            if i:
                out.wait(delay_s)
            out.frames(encoder.delta(text, False))
