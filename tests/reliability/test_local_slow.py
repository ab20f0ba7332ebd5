"""A local server that answers too slowly (beyond the provider's timeout_ms, or
OLLAMA_TIMEOUT_MS) under a real replica: each local attempt is cut at the timeout, not
waited out, and the cloud answers instead; a stream already past its first token ends
with a clear error event. The scheduled evaluation, run by the django-q2 cluster, then
counts the timeouts as slow requests in the latency gate and rolls the tier back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from canary.models import RequestMetric, Rollout, RolloutStatus, Transition, TransitionReason
from tests.fakes.behaviours import Reply
from tests.live import Replica, start_cluster, start_replica, wait_for
from tests.reliability.gateway_calls import Outcome, chat, cloud_keys, local_keys
from tests.reliability.wiring import wire

TIMEOUT_MS = 400
DELAY_S = 4.0  # the slow local server's reply time: ten times the timeout
CLOUD_TEXT = "Hello from the fake."  # FakeAnthropic's default reply


@pytest.fixture
def replicas(replica_env: dict[str, str], workdir: Path,
             api_key: str) -> Iterator[Callable[..., Replica]]:
    started: list[Replica] = []

    def start(**env: str) -> Replica:
        replica = start_replica({**replica_env, **env}, workdir)
        started.append(replica)
        # One cloud call first. A process's first Anthropic call imports the SDK, over a
        # second of CPU here, on the event loop: every call in flight meanwhile would see
        # its timeout fire that much late. (A defect of its own, reported; these tests
        # measure the timeouts, not the import.)
        warm_up = chat(replica.url, api_key, model="sonnet")  # no sonnet rollout: cloud
        assert (warm_up.status, warm_up.routed_to) == (200, "cloud"), warm_up.body
        return replica

    yield start
    for replica in started:
        replica.terminate()


def assert_answered_by_the_fallback(outcome: Outcome) -> None:
    assert (outcome.status, outcome.error) == (200, ""), outcome.body
    assert (outcome.routed_to, outcome.fallback) == ("fallback", True)
    if outcome.stream:
        assert outcome.done and not outcome.error_events, outcome.events
        assert outcome.text == CLOUD_TEXT
    else:
        assert outcome.body["choices"][0]["message"]["content"] == CLOUD_TEXT


def assert_cut_at_the_timeout(rows: list[dict[str, Any]]) -> None:
    """Every local attempt timed out, and was cut near the timeout: well before the
    upstream would have answered."""
    assert rows and [r["error_type"] for r in rows] == ["timeout"] * len(rows)
    for row in rows:
        assert not row["success"]
        assert TIMEOUT_MS * 0.9 <= row["latency_ms"] < DELAY_S * 1000 / 2, row


def stored_rows(expected: int) -> list[dict[str, Any]]:
    """The haiku tier's metric rows (the warm-up call was a sonnet one)."""
    haiku = RequestMetric.objects.filter(tier="haiku")
    wait_for(lambda: haiku.count() >= expected, 30,
             message=f"fewer than {expected} metric rows were written")
    return list(haiku.order_by("created_at").values(
        "request_id", "routed_to", "success", "error_type", "latency_ms", "streamed"))


def test_slow_local_replies_are_cut_at_the_provider_timeout_and_the_cloud_answers(
        api_key: str, fake_anthropic: Any, fake_ollama: Any, replicas: Any) -> None:
    wire(anthropic=fake_anthropic.url, ollama=fake_ollama.url, stage=100,
         local_timeout_ms=TIMEOUT_MS, consecutive_failure_limit=1000)
    fake_ollama.default = Reply(text="too late", delay_s=DELAY_S)
    replica = replicas()

    keys = local_keys(100, 8, prefix="slow")
    with ThreadPoolExecutor(len(keys)) as pool:
        outcomes = list(pool.map(lambda i: chat(replica.url, api_key, routing_key=keys[i],
                                                stream=i % 2 == 0), range(len(keys))))
    for outcome in outcomes:
        assert_answered_by_the_fallback(outcome)

    rows = stored_rows(2 * len(keys))
    assert len(rows) == 2 * len(keys)  # a local attempt and a fallback each, nothing more
    assert_cut_at_the_timeout([r for r in rows if r["routed_to"] == "local"])
    fallbacks = [r for r in rows if r["routed_to"] == "fallback"]
    assert len(fallbacks) == len(keys) and all(r["success"] for r in fallbacks)
    assert sum(r["streamed"] for r in fallbacks) == len(keys) // 2
    assert len(fake_ollama.requests) == len(keys)  # no retry of a timed-out local call
    assert Rollout.objects.get(tier="haiku").stage == 100  # the fast path is off here


def test_a_stream_stalling_after_its_first_token_ends_with_a_timeout_event(
        api_key: str, fake_anthropic: Any, fake_ollama: Any, replicas: Any) -> None:
    wire(anthropic=fake_anthropic.url, ollama=fake_ollama.url, stage=100,
         local_timeout_ms=TIMEOUT_MS, consecutive_failure_limit=1000)
    fake_ollama.enqueue(Reply(chunks=["first ", "never sent"], chunk_delay_s=DELAY_S))
    replica = replicas()
    cloud_calls = len(fake_anthropic.requests)

    [key] = local_keys(100, 1, prefix="stall")
    outcome = chat(replica.url, api_key, routing_key=key, stream=True)
    # Text was sent: no fallback, the status was 200 already; the stream ends with an error.
    assert (outcome.status, outcome.routed_to, outcome.fallback) == (200, "local", False)
    assert outcome.text == "first " and not outcome.done
    [error] = outcome.error_events
    assert error["error"]["code"] == "upstream_timeout", error
    assert "timeout" in error["error"]["message"]
    assert "no fallback was attempted" in error["error"]["message"]

    [row] = stored_rows(1)
    assert (row["routed_to"], row["streamed"]) == ("local", True)
    assert_cut_at_the_timeout([row])
    assert len(fake_anthropic.requests) == cloud_calls  # no fallback once text was sent


def test_ollama_timeout_ms_overrides_the_registry_timeout(
        api_key: str, fake_anthropic: Any, fake_ollama: Any, replicas: Any) -> None:
    # The registry allows the seed's 30 s; the environment says 400 ms.
    wire(anthropic=fake_anthropic.url, ollama=fake_ollama.url, stage=100,
         consecutive_failure_limit=1000)
    fake_ollama.default = Reply(text="too late", delay_s=DELAY_S)
    replica = replicas(OLLAMA_TIMEOUT_MS=str(TIMEOUT_MS))

    keys = local_keys(100, 2, prefix="env")
    outcomes = [chat(replica.url, api_key, routing_key=key, stream=i == 0)
                for i, key in enumerate(keys)]
    for outcome in outcomes:
        assert_answered_by_the_fallback(outcome)
    rows = stored_rows(4)
    assert_cut_at_the_timeout([r for r in rows if r["routed_to"] == "local"])


def test_the_latency_gate_counts_timeouts_as_slow_and_the_cluster_rolls_back(
        api_key: str, fake_anthropic: Any, fake_ollama: Any, replicas: Any,
        replica_env: dict[str, str], workdir: Path) -> None:
    """Errors are allowed up to 50% here and the fast path is off: only the latency gate
    can fail, and the local model's answers that do come are as fast as the cloud's."""
    from django_q.tasks import async_task

    stage = 25
    wire(anthropic=fake_anthropic.url, ollama=fake_ollama.url, stage=stage,
         local_timeout_ms=TIMEOUT_MS, consecutive_failure_limit=1000, min_samples=10,
         error_rate_ceiling=0.5, baseline_error_margin=0.45)
    replica = replicas()

    # The baseline: 150 cloud answers (135 bound its p95).
    with ThreadPoolExecutor(4) as pool:
        baseline = list(pool.map(lambda key: chat(replica.url, api_key, routing_key=key),
                                 cloud_keys(stage, 150, prefix="baseline")))
    assert {(o.status, o.routed_to) for o in baseline} == {(200, "cloud")}

    # The candidate: 20 local calls, one at a time, streamed and not; every other one is
    # too slow (10 timeouts: a 50% error rate, allowed here).
    slow = [i % 2 == 1 for i in range(20)]
    fake_ollama.enqueue(*[Reply(text="too late", delay_s=DELAY_S) if late else Reply()
                          for late in slow])
    keys = local_keys(stage, len(slow), prefix="candidate")
    candidate = [chat(replica.url, api_key, routing_key=key, stream=(i // 2) % 2 == 0)
                 for i, key in enumerate(keys)]
    for outcome, late in zip(candidate, slow, strict=True):
        if late:
            assert_answered_by_the_fallback(outcome)
        else:
            assert (outcome.status, outcome.routed_to) == (200, "local"), outcome.body
    timeouts = sum(slow)
    rows = stored_rows(len(baseline) + len(candidate) + timeouts)
    assert_cut_at_the_timeout([r for r in rows if r["routed_to"] == "local"
                               and not r["success"]])
    assert not Transition.objects.filter(to_status=RolloutStatus.ROLLED_BACK).exists()

    rollbacks = Transition.objects.filter(to_status=RolloutStatus.ROLLED_BACK)
    cluster = start_cluster(replica_env, workdir)
    try:
        async_task("canary.tasks.evaluate_rollouts")
        wait_for(lambda: rollbacks.exists() or cluster.process.poll() is not None, 60,
                 interval=0.2, message="the cluster's evaluation did not roll back in 60 s")
    finally:
        cluster.stop()
    assert rollbacks.exists(), cluster.log_text()[-3000:]

    [rollback] = rollbacks
    assert (rollback.from_stage, rollback.to_stage, rollback.reason, rollback.actor) == (
        stage, 0, TransitionReason.QUALITY_GATE_ROLLBACK, "scheduler")
    gates = {g["gate"]: g for g in rollback.evidence["gates"]}
    assert gates["latency_p95"]["verdict"] == "fail", gates["latency_p95"]["sentence"]
    assert gates["error_rate"]["verdict"] != "fail"
    assert gates["error_rate_vs_baseline"]["verdict"] != "fail"
    evidence = gates["latency_p95"]["evidence"]
    assert evidence["candidate"]["timeouts"] == timeouts
    assert evidence["candidate"]["successes"] == len(slow) - timeouts
    assert evidence["baseline"]["successes"] == len(baseline)
    assert f"or timed out ({timeouts} timeouts;" in gates["latency_p95"]["sentence"]
    assert Rollout.objects.values_list("status", "stage").get(tier="haiku") == (
        RolloutStatus.ROLLED_BACK, 0)
