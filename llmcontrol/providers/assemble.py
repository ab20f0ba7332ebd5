"""From protocol-neutral pieces to stream events and one Completion.

Each protocol decoder turns its wire format into `Piece`s; the Assembler does
the rest the same way for every provider: the think-tag filter, the client-side
clock (time to first token, to first answer token), token counts, tokens per
second and the JSON verdict. A non-streamed reply goes through the same path
as one big chunk, so both paths agree on content, reasoning and flags.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

from llmcontrol.providers.base import (
    ChatRequest,
    Completion,
    Done,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Usage,
)
from llmcontrol.providers.quality import json_valid
from llmcontrol.providers.thinking import Segment, ThinkFilter


@dataclass(frozen=True, slots=True)
class Text:
    text: str  # answer channel (may still contain leaked think tags)


@dataclass(frozen=True, slots=True)
class Reasoning:
    text: str  # the server's own reasoning channel


@dataclass(frozen=True, slots=True)
class Meta:
    """Facts a reply reports, usually at its end; None means "not said here"."""

    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    eval_count: int | None = None  # Ollama server statistics (durations in nanoseconds)
    eval_duration_ns: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration_ns: int | None = None


@dataclass(frozen=True, slots=True)
class End:
    """The protocol's own end marker ([DONE], done: true, message_stop, ...):
    without it a stream that simply stops is treated as truncated."""


Piece = Text | Reasoning | Meta | End
META_FIELDS = tuple(f.name for f in fields(Meta))


def as_text(value: Any) -> str:
    """A text field of a reply: absent is empty, anything but a string is a malformed reply."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


class Assembler:
    def __init__(self, *, provider: str, model: str, request: ChatRequest, started: float,
                 attempt: int, streamed: bool) -> None:
        self.provider, self.model, self.request = provider, model, request
        self.started, self.attempt, self.streamed = started, attempt, streamed
        self.ended = False
        self._filter = ThinkFilter()
        self._answer: list[str] = []
        self._reasoning: list[str] = []
        self._meta: dict[str, int | str] = {}
        self._chunks = 0
        self._first_token: float | None = None
        self._first_answer: float | None = None

    def feed(self, piece: Piece) -> list[StreamEvent]:
        if isinstance(piece, Text | Reasoning) and piece.text:
            self._chunks += 1
            if self._first_token is None:
                self._first_token = time.perf_counter()
        if isinstance(piece, Text):
            return self._events(self._filter.feed(piece.text))
        if isinstance(piece, Reasoning):
            return self._events([(True, piece.text)]) if piece.text else []
        if isinstance(piece, Meta):
            for name in META_FIELDS:
                value = getattr(piece, name)
                if value is not None:
                    self._meta[name] = value
        else:
            self.ended = True
        return []

    def finish(self) -> list[StreamEvent]:
        """The held-back tail (if any), then Done."""
        events = self._events(self._filter.flush())
        return [*events, Done(self._completion(time.perf_counter()))]

    def completion(self) -> Completion:
        done = self.finish()[-1]
        assert isinstance(done, Done)
        return done.completion

    def _events(self, segments: list[Segment]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for is_reasoning, text in segments:
            if is_reasoning:
                self._reasoning.append(text)
                events.append(ReasoningDelta(text))
            else:
                if self._first_answer is None and text.strip():
                    self._first_answer = time.perf_counter()
                self._answer.append(text)
                events.append(TextDelta(text))
        return events

    def _completion(self, ended: float) -> Completion:
        meta, request = self._meta, self.request
        content = "".join(self._answer)
        output = meta.get("output_tokens")
        if output is None and self.streamed:
            # Some servers (llama-cpp-python) send no usage in streams; each
            # chunk carries one token there, so the chunk count is the estimate.
            output = self._chunks
        usage = Usage(int(meta.get("input_tokens", 0)), int(output or 0))
        generation_tps, prompt_tps, source = self._rates(usage, ended)
        return Completion(
            content=content,
            reasoning="".join(self._reasoning),
            provider=self.provider,
            model=self.model,
            duration_ms=(ended - self.started) * 1000,
            ttft_ms=self._since_start(self._first_token),
            ttfat_ms=self._since_start(self._first_answer),
            finish_reason=str(meta["finish_reason"]) if "finish_reason" in meta else None,
            usage=usage,
            think_leaked=self._filter.leaked,
            json_requested=request.wants_json,
            json_valid=json_valid(content, request.schema) if request.wants_json else None,
            generation_tps=generation_tps,
            prompt_tps=prompt_tps,
            tps_source=source,
            attempts=self.attempt,
        )

    def _since_start(self, moment: float | None) -> float | None:
        if not self.streamed or moment is None:
            return None  # a non-streamed reply has no first token to time
        return (moment - self.started) * 1000

    def _rates(self, usage: Usage, ended: float) -> tuple[float | None, float | None, str | None]:
        meta = self._meta
        count, duration = meta.get("eval_count"), meta.get("eval_duration_ns")
        if isinstance(count, int) and isinstance(duration, int) and count > 0 and duration > 0:
            prompt_count = meta.get("prompt_eval_count")
            prompt_duration = meta.get("prompt_eval_duration_ns")
            prompt_tps = None
            if isinstance(prompt_count, int) and isinstance(prompt_duration, int) \
                    and prompt_count > 0 and prompt_duration > 0:
                prompt_tps = prompt_count / prompt_duration * 1e9
            return count / duration * 1e9, prompt_tps, "server"
        first = self._first_token
        if self.streamed and first is not None and usage.output_tokens > 0 and ended > first:
            return usage.output_tokens / (ended - first), None, "measured"
        return None, None, None
