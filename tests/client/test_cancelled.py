"""A caller that hangs up mid-attempt: one `cancelled` row, which no rollout gate counts."""

from __future__ import annotations

import asyncio

import pytest

from canary.models import MetricRollup, Rollout, RolloutStatus, Transition
from llmcontrol.client import LLMResult, get_llm_client
from tests.client.conftest import stored_metrics
from tests.fakes.behaviours import HttpError, Reply

pytestmark = pytest.mark.usefixtures("wired_registry")

PROMPT = "Label this issue."


def outcomes() -> list[tuple[str, bool, str]]:
    return [(m.routed_to, m.success, m.error_type) for m in stored_metrics()]


def test_a_stream_closed_after_its_first_delta_is_one_cancelled_row(wired_registry: dict) -> None:
    wired_registry["ollama"].enqueue(Reply(chunks=["one ", "two ", "three"], chunk_delay_s=0.2))
    stream = get_llm_client(purpose="classification").stream(None, PROMPT)
    assert next(stream) == "one "
    stream.close()  # the caller hangs up
    assert outcomes() == [("local", False, "cancelled")]
    # The rollups the gates read saw nothing: neither an error nor a request.
    assert not MetricRollup.objects.filter(routed_to="local").exists()


def test_a_stream_closed_after_its_result_is_only_the_success(wired_registry: dict) -> None:
    wired_registry["ollama"].enqueue(Reply(chunks=["done"]))
    stream = get_llm_client(purpose="classification").stream(None, PROMPT)
    parts = []
    for part in stream:
        parts.append(part)
        if isinstance(part, LLMResult):
            break
    stream.close()
    assert parts[0] == "done"
    assert outcomes() == [("local", True, "")]


def test_async_calls_cancelled_mid_attempt_record_a_cancelled_row(wired_registry: dict,
                                                                  settings) -> None:
    settings.REGISTRY_POLL_INTERVAL = 0
    wired_registry["ollama"].enqueue(Reply(delay_s=5.0),
                                     Reply(chunks=["a ", "b ", "c"], chunk_delay_s=0.2))
    client = get_llm_client(purpose="classification")

    async def hang_up_twice() -> None:
        from asgiref.sync import sync_to_async
        from django.db import connection

        task = asyncio.create_task(client.acomplete(None, PROMPT))
        while not wired_registry["ollama"].requests:
            await asyncio.sleep(0.01)
        task.cancel()  # what the gateway does when its caller disconnects
        with pytest.raises(asyncio.CancelledError):
            await task
        stream = client.astream(None, PROMPT)
        assert await anext(stream) == "a "
        await stream.aclose()
        await sync_to_async(lambda: connection.close())()

    asyncio.run(hang_up_twice())
    assert outcomes() == [("local", False, "cancelled"), ("local", False, "cancelled")]
    assert wired_registry["anthropic"].requests == []  # no fallback for a caller who left


def test_cancellations_neither_count_towards_nor_break_a_run_of_local_failures(
    wired_registry: dict,
) -> None:
    Rollout.objects.filter(tier="haiku").update(consecutive_failure_limit=3)
    ollama, anthropic = wired_registry["ollama"], wired_registry["anthropic"]
    client = get_llm_client(purpose="classification")
    ollama.enqueue(HttpError(503), HttpError(503))
    anthropic.enqueue(Reply(text="ok"), Reply(text="ok"), Reply(text="ok"))
    client.complete(None, PROMPT)
    client.complete(None, PROMPT)
    for _ in range(3):
        ollama.enqueue(Reply(chunks=["x ", "y"], chunk_delay_s=0.2))
        stream = client.stream(None, PROMPT)
        next(stream)
        stream.close()
    stored_metrics()
    # Two failures and three cancellations: not three consecutive failures.
    rollout = Rollout.objects.get(tier="haiku")
    assert (rollout.status, rollout.stage) == (RolloutStatus.COMPLETE, 100)
    assert not Transition.objects.filter(to_status=RolloutStatus.ROLLED_BACK).exists()

    ollama.enqueue(HttpError(503))
    client.complete(None, PROMPT)
    stored_metrics()
    rollout = Rollout.objects.get(tier="haiku")
    assert (rollout.status, rollout.stage) == (RolloutStatus.ROLLED_BACK, 0)
    assert Transition.objects.filter(to_status=RolloutStatus.ROLLED_BACK,
                                      reason="consecutive_failures").count() == 1
