"""Adapters pointed at the fake servers, with backoff sleeps recorded instead of slept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from llmcontrol.providers import Adapter, build_adapter
from tests.fakes.chat import ChatFake

PROTOCOLS = ["fake_ollama", "fake_openai", "fake_anthropic", "fake_gemini"]

BuildAdapter = Callable[..., Adapter]


@pytest.fixture
def slept() -> list[float]:
    """Seconds each adapter built by `build` asked to sleep between attempts."""
    return []


@pytest.fixture
def build(slept: list[float]) -> Iterator[BuildAdapter]:
    """build(fake, **config_overrides) -> an adapter for that fake, retries off by default.

    Jitter is pinned to its ceiling (random() == 1.0) so backoff delays are exact."""
    made: list[Adapter] = []

    async def asleep(seconds: float) -> None:
        slept.append(seconds)

    def make(fake: ChatFake, **overrides: Any) -> Adapter:
        overrides.setdefault("max_retries", 0)
        adapter = build_adapter(fake.provider_config(**overrides), sleep=slept.append,
                                asleep=asleep, random=lambda: 1.0)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()


@pytest.fixture(params=PROTOCOLS, ids=["ollama", "openai", "anthropic", "gemini"])
def fake(request: pytest.FixtureRequest) -> ChatFake:
    """Each of the four fake providers in turn (for behaviour every protocol shares)."""
    server: ChatFake = request.getfixturevalue(request.param)
    return server
