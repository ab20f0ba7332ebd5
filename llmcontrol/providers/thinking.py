"""Thinking that leaked into the answer: `<think>…</think>` / `<thinking>…</thinking>`.

Servers strip these tags only when they can infer them from the model's chat
template; custom GGUFs, qwen3 and deepseek-r1 often leak them into `content`,
which breaks JSON answers and inflates "answer" token counts. The filter moves
tagged text to the reasoning channel, incrementally, so a stream never shows a
tag to the caller even when the tag is split across chunks.

Rules (identical for a whole string and for any chunking of it):
- text inside a tag pair is reasoning; an unclosed opening tag makes the rest
  reasoning (a stream may start with `<think>` long before it closes);
- a closing tag with no opening tag is dropped (the text before it was already
  streamed as answer and cannot be recalled);
- whitespace right after a closing tag is dropped (models put "\\n\\n" there);
- any tag seen sets `leaked`.
"""

from __future__ import annotations

OPENING = {"<think>": "</think>", "<thinking>": "</thinking>"}
CLOSING = frozenset(OPENING.values())
ALL_TAGS = (*OPENING, *CLOSING)

Segment = tuple[bool, str]  # (is_reasoning, text)


class ThinkFilter:
    def __init__(self) -> None:
        self.leaked = False
        self._buffer = ""  # text not yet emitted: at most a possible tag prefix
        self._closing: str | None = None  # the closing tag we wait for, when inside
        self._skip_space = False

    def feed(self, text: str) -> list[Segment]:
        self._buffer += text
        segments: list[Segment] = []
        while self._buffer:
            progressed = self._step(segments)
            if not progressed:
                break
        return [s for s in segments if s[1]]

    def flush(self) -> list[Segment]:
        """Emit what was held back: a dangling tag prefix is plain text after all."""
        rest, self._buffer = self._buffer, ""
        if self._closing is not None:
            return [(True, rest)] if rest else []
        rest = self._answer(rest)
        return [(False, rest)] if rest else []

    def _step(self, segments: list[Segment]) -> bool:
        """Consume as much of the buffer as is decidable; False when waiting for more."""
        buffer = self._buffer
        if self._closing is not None:  # inside a thinking block
            end = buffer.find(self._closing)
            if end >= 0:
                segments.append((True, buffer[:end]))
                self._buffer = buffer[end + len(self._closing):]
                self._closing = None
                self._skip_space = True
                return True
            keep = _held_suffix(buffer, (self._closing,))
            segments.append((True, buffer[: len(buffer) - keep]))
            self._buffer = buffer[len(buffer) - keep:]
            return False
        search = 0
        while (start := buffer.find("<", search)) >= 0:
            rest = buffer[start:]
            tag = next((t for t in ALL_TAGS if rest.startswith(t)), None)
            if tag is not None:
                segments.append((False, self._answer(buffer[:start])))
                self._buffer = rest[len(tag):]
                self.leaked = True
                if tag in OPENING:
                    self._closing = OPENING[tag]
                else:
                    self._skip_space = True  # orphan closing tag: drop it
                return True
            if any(t.startswith(rest) for t in ALL_TAGS):  # maybe a tag, cut by the chunking
                segments.append((False, self._answer(buffer[:start])))
                self._buffer = rest
                return False
            search = start + 1
        segments.append((False, self._answer(buffer)))
        self._buffer = ""
        return False

    def _answer(self, text: str) -> str:
        if self._skip_space and text:
            text = text.lstrip()
            self._skip_space = not text
        return text


def _held_suffix(buffer: str, tags: tuple[str, ...]) -> int:
    """Length of the longest suffix of `buffer` that is a proper prefix of a tag."""
    for size in range(min(len(buffer), max(map(len, tags)) - 1), 0, -1):
        suffix = buffer[-size:]
        if any(t.startswith(suffix) for t in tags):
            return size
    return 0


def split_thinking(text: str) -> tuple[str, str, bool]:
    """(answer, reasoning, leaked) for a whole string."""
    thinking = ThinkFilter()
    segments = thinking.feed(text) + thinking.flush()
    answer = "".join(t for is_reasoning, t in segments if not is_reasoning)
    reasoning = "".join(t for is_reasoning, t in segments if is_reasoning)
    return answer, reasoning, thinking.leaked
