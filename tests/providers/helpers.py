"""Small helpers for the adapter tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

from llmcontrol.providers import (
    ChatRequest,
    Completion,
    Done,
    Message,
    ProviderError,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
)


def ask(text: str = "Say hello.", **options: Any) -> ChatRequest:
    return ChatRequest(messages=(Message("user", text),), **options)


def drain(events: Iterator[StreamEvent]) -> tuple[list[StreamEvent], ProviderError | None]:
    """All events a stream yielded, and the error that ended it (if any)."""
    seen: list[StreamEvent] = []
    try:
        for event in events:
            seen.append(event)
    except ProviderError as error:
        return seen, error
    return seen, None


def adrain(events: AsyncIterator[StreamEvent]) -> tuple[list[StreamEvent], ProviderError | None]:
    async def run() -> tuple[list[StreamEvent], ProviderError | None]:
        seen: list[StreamEvent] = []
        try:
            async for event in events:
                seen.append(event)
        except ProviderError as error:
            return seen, error
        return seen, None

    return asyncio.run(run())


def texts(events: list[StreamEvent]) -> list[str]:
    return [e.text for e in events if isinstance(e, TextDelta)]


def reasonings(events: list[StreamEvent]) -> list[str]:
    return [e.text for e in events if isinstance(e, ReasoningDelta)]


def done(events: list[StreamEvent]) -> Completion:
    finals = [e for e in events if isinstance(e, Done)]
    assert len(finals) == 1 and events[-1] is finals[0], events
    return finals[0].completion
