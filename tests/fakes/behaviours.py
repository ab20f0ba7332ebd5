"""What a fake provider does with the next chat request. Enqueue them in order:

    fake.enqueue(HttpError(429, retry_after=2), Reply(text="ok"))

Every behaviour works for streamed and non-streamed requests; each fake
renders it in its own protocol (status codes, error bodies, framing).
Delays are short by design: timeout tests use timeout_s of about 0.2.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Reply:
    """A successful answer. `text` may contain leaked `<think>` tags on purpose."""

    text: str = "Hello from the fake."
    reasoning: str = ""  # sent in the protocol's own reasoning channel
    chunks: list[str] | None = None  # streamed content pieces; default: text split at spaces
    reasoning_chunks: list[str] | None = None
    input_tokens: int = 12
    output_tokens: int = 7
    finish_reason: str | None = None  # the protocol's own value; None: its normal "stop"
    delay_s: float = 0.0  # before the response headers
    chunk_delay_s: float = 0.0  # between streamed pieces
    include_usage: bool = True  # stream usage when the client asks for it (OpenAI)

    def text_pieces(self) -> list[str]:
        return list(self.chunks) if self.chunks is not None else split_words(self.text)

    def reasoning_pieces(self) -> list[str]:
        if self.reasoning_chunks is not None:
            return list(self.reasoning_chunks)
        return split_words(self.reasoning)


@dataclass
class HttpError:
    """An error status with the protocol's error body (and `retry-after` headers when given)."""

    status: int
    message: str = "fake provider error"
    error_type: str | None = None  # the protocol's type/status string; None: its usual one
    retry_after: float | str | None = None  # seconds, or an HTTP date string
    retry_after_ms: int | None = None
    delay_s: float = 0.0


@dataclass
class MidStreamError:
    """Stream `chunks`, then the protocol's in-stream error (HTTP status stays 200).
    A non-streamed request gets a 500 with the same message."""

    chunks: list[str] = field(default_factory=lambda: ["partial "])
    message: str = "the model runner stopped unexpectedly"
    error_type: str | None = None
    chunk_delay_s: float = 0.0


@dataclass
class Malformed:
    """A body that is not the protocol's JSON (as one stream line/event when streaming)."""

    body: str = "{this is not json"
    status: int = 200
    content_type: str | None = None  # default: the protocol's own


@dataclass
class Truncated:
    """Stream `chunks` and end the body cleanly but without the protocol's end marker.
    A non-streamed request gets its JSON body cut in half."""

    chunks: list[str] = field(default_factory=lambda: ["partial "])
    # OpenAI protocol only: then `data: [DONE]`, with no finish_reason ever sent (what
    # llama.cpp's server did to a stream when another request interrupted it).
    done_marker: bool = False


@dataclass
class Drop:
    """Close the connection: before any response (after_chunks=None), or mid-body
    after streaming `after_chunks` (no terminating chunk: the client sees a cut)."""

    after_chunks: list[str] | None = None


Behaviour = Reply | HttpError | MidStreamError | Malformed | Truncated | Drop


def split_words(text: str) -> list[str]:
    """'a b c' -> ['a ', 'b ', 'c']: pieces that join back to the text."""
    pieces = [word + " " for word in text.split(" ")]
    pieces[-1] = pieces[-1][:-1]
    return [p for p in pieces if p]
