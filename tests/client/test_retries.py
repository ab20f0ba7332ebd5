"""Provider retries reach the caller's result and the metric rows, on every path (sync and
async, streamed and not), for answers and for errors. Backoffs are recorded, not slept."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llmcontrol.client import LLMCallError, LLMResult, get_llm_client
from llmcontrol.providers import ErrorKind
from registry.models import Provider
from tests.client.conftest import stored_metrics
from tests.fakes.behaviours import HttpError, Reply

HAIKU = "claude-haiku-3-5-20241022"
PATHS = ["complete", "stream", "acomplete", "astream"]


@pytest.fixture
def anthropic(wired_registry: dict, retry_sleeps: list[float]) -> Any:
    """The fake Anthropic, retried twice; calls name its model (no fallback chain)."""
    from registry.actions import bump_version

    Provider.objects.filter(key="anthropic").update(max_retries=2)
    bump_version()
    return wired_registry["anthropic"]


def call(path: str) -> LLMResult:
    client = get_llm_client(model=HAIKU)
    if path == "complete":
        return client.complete(None, "Say hello.")
    if path == "stream":
        return list(client.stream(None, "Say hello."))[-1]  # type: ignore[return-value]

    async def collect() -> Any:
        from asgiref.sync import sync_to_async
        from django.db import connection

        try:
            if path == "acomplete":
                return await client.acomplete(None, "Say hello.")
            return [part async for part in client.astream(None, "Say hello.")][-1]
        finally:
            await sync_to_async(lambda: connection.close())()  # the executor thread's

    return asyncio.run(collect())  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", PATHS)
def test_an_answer_after_retries_records_them(anthropic: Any, retry_sleeps: list[float],
                                              path: str) -> None:
    anthropic.enqueue(HttpError(429, retry_after=1), HttpError(529, retry_after_ms=1500),
                      Reply(text="hello"))

    result = call(path)

    assert isinstance(result, LLMResult)
    assert (result.content, result.attempts, result.retries) == ("hello", 1, 2)
    assert retry_sleeps == [1.0, 1.5]
    [row] = stored_metrics()
    assert (row.success, row.retries, row.streamed) == (True, 2, path.endswith("stream"))


@pytest.mark.parametrize("path", PATHS)
def test_an_error_after_the_last_retry_records_them(anthropic: Any, retry_sleeps: list[float],
                                                    path: str) -> None:
    anthropic.enqueue(*[HttpError(503, retry_after=1)] * 3)

    with pytest.raises(LLMCallError) as raised:
        call(path)

    assert (raised.value.kind, raised.value.attempts, raised.value.retries) == (
        ErrorKind.SERVER_ERROR, 1, 2)
    assert len(anthropic.chat_requests()) == 3
    [row] = stored_metrics()
    assert (row.success, row.error_type, row.retries) == (False, "server_error", 2)


def test_an_answer_at_the_first_try_records_no_retry(anthropic: Any) -> None:
    result = call("complete")
    assert result.retries == 0
    [row] = stored_metrics()
    assert (row.success, row.retries) == (True, 0)
