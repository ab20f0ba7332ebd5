"""Pytest fixtures that start the fake provider servers (loaded as a plugin by tests/conftest.py).

    def test_something(fake_ollama, fake_anthropic):
        fake_ollama.enqueue(HttpError(503, "server busy"))
        ...

Each fake is function-scoped: a fresh server (and queue, and request log) per test.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from llmcontrol.providers import retry
from tests.fakes.fake_anthropic import FakeAnthropic
from tests.fakes.fake_gemini import FakeGemini
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.llama_server import smollm2_server  # noqa: F401 - registers the fixture


def closed_port() -> int:
    """A loopback port with nothing listening (connection refused, at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def fake_gemini() -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        yield server


@pytest.fixture
def retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Adapters' backoff sleeps are recorded instead of slept (sync and async),
    for every adapter built without its own `sleep`. Jitter is pinned to its ceiling."""
    slept: list[float] = []

    async def asleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(retry, "default_sleep", slept.append)
    monkeypatch.setattr(retry, "default_asleep", asleep)
    monkeypatch.setattr(retry, "default_random", lambda: 1.0)
    return slept
