"""The real local model (SmolLM2 on llama.cpp's server) killed with SIGKILL under two
replicas: during streams and between requests. Every caller gets an answer from the cloud,
except a stream that already sent text, which ends with a clear error event; the rollout
rolls back exactly once; every attempt is one metric row."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from canary.models import RequestMetric, Rollout, RolloutStatus, Transition, TransitionReason
from llmcontrol.providers.local_model import find_smollm2_gguf, server_command
from tests.fakes.llama_server import free_port
from tests.live import Replica, start_replica, start_upstream, wait_for
from tests.reliability.gateway_calls import Outcome, chat, cloud_keys, local_keys
from tests.reliability.wiring import wire

STAGE = 25
# SmolLM2 goes on about this for longer than any max_tokens here (it stops at "length").
LONG_PROMPT = "Write a very long essay about the history of the Roman Empire."


@dataclass
class LocalModel:
    url: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no goodbye to the connections it holds
        self.process.wait()


@pytest.fixture
def local_model(workdir: Path) -> Iterator[LocalModel]:
    """A SmolLM2 server of this test's own, so that the test may kill it."""
    port = free_port()
    log = workdir / "llama-server.log"
    with log.open("wb") as out:
        child = subprocess.Popen(server_command(port, gguf=find_smollm2_gguf()), stdout=out,
                                 stderr=subprocess.STDOUT)
    model = LocalModel(f"http://127.0.0.1:{port}", child)

    def answers() -> bool:
        if child.poll() is not None:
            pytest.fail(f"the llama.cpp server exited:\n{log.read_text(errors='replace')}")
        try:
            return httpx.get(f"{model.url}/v1/models", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(answers, 180, interval=0.25, message="the llama.cpp server did not start")
        yield model
    finally:
        if child.poll() is None:
            model.kill()


@pytest.fixture
def two_replicas(replica_env: dict[str, str],
                 workdir: Path) -> Iterator[Callable[[], list[Replica]]]:
    started: list[Replica] = []

    def start() -> list[Replica]:
        started.extend(start_replica(replica_env, workdir) for _ in range(2))
        return started

    yield start
    for replica in started:
        replica.terminate()


def healthy_mix(replicas: list[Replica], api_key: str) -> list[Outcome]:
    """Local and cloud keys, streamed and not, over both replicas, one at a time."""
    keys = [*local_keys(STAGE, 4, prefix="healthy"), *cloud_keys(STAGE, 4, prefix="healthy")]
    outcomes = [chat(replicas[i % 2].url, api_key, routing_key=key, stream=i % 3 != 0,
                     max_tokens=6) for i, key in enumerate(keys)]
    assert [(o.status, o.routed_to, o.fallback) for o in outcomes] == (
        [(200, "local", False)] * 4 + [(200, "cloud", False)] * 4), [o.body for o in outcomes]
    assert all(o.done and not o.error_events for o in outcomes if o.stream)
    # Local streams at once on both replicas: the server takes them one at a time, and each
    # gets its whole answer (llama.cpp's server used to end the one in progress early).
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(
            lambda key: chat(replicas[keys.index(key) % 2].url, api_key, routing_key=key,
                             stream=True, max_tokens=12, content=LONG_PROMPT), keys[:3]))
    assert [(o.status, o.routed_to, o.done, finish_reason(o)) for o in together] == [
        (200, "local", True, "length")] * 3, [o.events[-2:] for o in together]
    return outcomes + together


def finish_reason(outcome: Outcome) -> str | None:
    reasons = [c["finish_reason"] for e in outcome.events if isinstance(e, dict)
               for c in e.get("choices", []) if c.get("finish_reason")]
    return reasons[-1] if reasons else None


def assert_answered_by_the_cloud(outcome: Outcome) -> None:
    """A call that had sent nothing when local died: a normal answer, from the cloud."""
    assert (outcome.status, outcome.error) == (200, ""), outcome.body
    assert outcome.routed_to in ("fallback", "cloud")
    assert outcome.fallback is (outcome.routed_to == "fallback")
    if outcome.stream:
        assert outcome.done and not outcome.error_events, outcome.events
    else:
        assert outcome.body["choices"][0]["message"]["content"]


def assert_one_rollback_and_every_attempt_stored(outcomes: list[Outcome],
                                                 replicas: list[Replica]) -> None:
    rollout = Rollout.objects.get(tier="haiku")
    wait_for(lambda: Rollout.objects.get(tier="haiku").status == RolloutStatus.ROLLED_BACK, 30,
             message="the fast path did not roll the rollout back")
    rollout.refresh_from_db()
    assert rollout.stage == 0
    rollbacks = Transition.objects.filter(rollout=rollout, to_status=RolloutStatus.ROLLED_BACK)
    assert [t.reason for t in rollbacks] == [TransitionReason.CONSECUTIVE_FAILURES]
    for replica in replicas:
        replica.terminate()  # writes what each still holds
    assert RequestMetric.objects.count() == sum(o.attempts for o in outcomes)
    # Each caller-visible failure of local is one failed local row.
    failed_local = sum(o.fallback or bool(o.error_events) for o in outcomes)
    assert RequestMetric.objects.filter(routed_to="local", success=False).count() == failed_local


def test_local_killed_during_streams(api_key: str, fake_anthropic: Any, local_model: LocalModel,
                                     two_replicas: Any) -> None:
    wire(anthropic=fake_anthropic.url, llamacpp=local_model.url, stage=STAGE,
         consecutive_failure_limit=3)
    replicas = two_replicas()
    outcomes = healthy_mix(replicas, api_key)

    # One long local stream; once it is under way, more local calls on both replicas,
    # streamed and not, which the server queues behind it (it answers one at a time).
    keys = local_keys(STAGE, 5, prefix="doomed")
    received: list[str] = []
    with ThreadPoolExecutor(len(keys)) as pool:
        first = pool.submit(chat, replicas[0].url, api_key, routing_key=keys[0], stream=True,
                            max_tokens=300, content=LONG_PROMPT, pieces=received)
        wait_for(lambda: received, 120, interval=0.01, message="the local stream never started")
        queued = [pool.submit(chat, replicas[i % 2].url, api_key, routing_key=key,
                              stream=i != 2, max_tokens=300, content=LONG_PROMPT)
                  for i, key in enumerate(keys[1:], start=1)]
        # Ten more tokens: time enough for the queued calls to reach the server.
        mark = len(received)
        wait_for(lambda: len(received) >= mark + 10, 120, interval=0.01,
                 message="the local stream stalled")
        local_model.kill()
        in_flight = [f.result() for f in (first, *queued)]

    # A stream's headers name the attempt that sent its first token.
    mid_stream = [o for o in in_flight if o.stream and o.routed_to == "local"]
    assert mid_stream and mid_stream[0] is in_flight[0], "the first stream was not cut"
    for outcome in mid_stream:
        # Text was sent: no fallback, no status to change; the stream ends with an error.
        assert (outcome.status, outcome.routed_to, outcome.fallback) == (200, "local", False)
        assert not outcome.done
        [error] = outcome.error_events
        assert error["error"]["message"].startswith("LLM call failed"), error
        assert "no fallback was attempted" in error["error"]["message"]
    for outcome in in_flight:
        if outcome not in mid_stream:
            # Routed local while it was up, it had sent nothing: the cloud answered instead.
            assert_answered_by_the_cloud(outcome)
            assert outcome.routed_to == "fallback"
    outcomes += in_flight

    # Local stays dead: whatever comes next is answered (by then from the cloud directly).
    after = [chat(replicas[i % 2].url, api_key, routing_key=key, stream=i % 2 == 0)
             for i, key in enumerate(local_keys(STAGE, 4, prefix="after"))]
    for outcome in after:
        assert_answered_by_the_cloud(outcome)
    assert_one_rollback_and_every_attempt_stored(outcomes + after, replicas)


def test_local_killed_while_several_streams_are_past_their_first_token(
        api_key: str, fake_anthropic: Any, two_replicas: Any) -> None:
    """llama.cpp's server answers one request at a time, so only one of its streams can be
    cut mid-answer. An OpenAI-compatible fake in a process of its own (killed the same way)
    has six going at once, on both replicas."""
    words = " ".join(f"word{i}" for i in range(40))
    local = start_upstream("openai", "--chunk-delay-s", "0.25", "--text", words)
    try:
        wire(anthropic=fake_anthropic.url, llamacpp=local.url, stage=STAGE,
             consecutive_failure_limit=3)
        replicas = two_replicas()
        keys = local_keys(STAGE, 6, prefix="several")
        first_tokens = [threading.Event() for _ in keys]
        with ThreadPoolExecutor(len(keys)) as pool:
            futures = [pool.submit(chat, replicas[i % 2].url, api_key, routing_key=key,
                                   stream=True, first_token=first_tokens[i])
                       for i, key in enumerate(keys)]
            wait_for(lambda: all(e.is_set() for e in first_tokens), 120,
                     message="the local streams did not all start")
            local.process.kill()
            cut = [f.result() for f in futures]
    finally:
        local.process.kill()
        local.process.wait()
    for outcome in cut:
        assert (outcome.status, outcome.routed_to, outcome.fallback) == (200, "local", False)
        assert outcome.text.startswith("word0") and not outcome.done
        [error] = outcome.error_events
        assert "no fallback was attempted" in error["error"]["message"]
    after = [chat(replicas[i % 2].url, api_key, routing_key=key, stream=i % 2 == 0)
             for i, key in enumerate(local_keys(STAGE, 4, prefix="later"))]
    for outcome in after:
        assert_answered_by_the_cloud(outcome)
    assert_one_rollback_and_every_attempt_stored(cut + after, replicas)


def test_callers_hanging_up_mid_stream_leave_cancelled_rows_and_no_rollback(
        api_key: str, fake_anthropic: Any, two_replicas: Any) -> None:
    words = " ".join(f"word{i}" for i in range(40))
    local = start_upstream("openai", "--chunk-delay-s", "0.25", "--text", words)
    try:
        wire(anthropic=fake_anthropic.url, llamacpp=local.url, stage=STAGE,
             consecutive_failure_limit=3)
        before = Rollout.objects.values_list("status", "stage").get(tier="haiku")
        replicas = two_replicas()
        keys = local_keys(STAGE, 4, prefix="impatient")
        for i, key in enumerate(keys):
            with httpx.stream("POST", f"{replicas[i % 2].url}/v1/chat/completions",
                              headers={"Authorization": f"Bearer {api_key}"}, timeout=60,
                              json={"model": "haiku", "stream": True, "user": key,
                                    "messages": [{"role": "user", "content": "hi"}]}) as r:
                assert r.headers["x-llmcontrol-routed-to"] == "local"
                assert any("word0" in line for line in r.iter_lines())
            # Leaving the block closes the connection mid-stream: the caller hung up.
        wait_for(lambda: RequestMetric.objects.count() == len(keys), 30,
                 message="a hung-up stream left no metric row")
        for replica in replicas:
            replica.terminate()
    finally:
        local.stop()
    rows = list(RequestMetric.objects.values_list("routed_to", "success", "error_type"))
    assert rows == [("local", False, "cancelled")] * len(keys)
    assert Rollout.objects.values_list("status", "stage").get(tier="haiku") == before
    assert before[1] == STAGE
    assert not Transition.objects.filter(to_status=RolloutStatus.ROLLED_BACK).exists()


def test_local_killed_between_requests(api_key: str, fake_anthropic: Any,
                                       local_model: LocalModel, two_replicas: Any) -> None:
    wire(anthropic=fake_anthropic.url, llamacpp=local_model.url, stage=STAGE,
         consecutive_failure_limit=3)
    replicas = two_replicas()
    outcomes = healthy_mix(replicas, api_key)
    local_model.kill()

    keys = [*local_keys(STAGE, 10, prefix="orphan"), *cloud_keys(STAGE, 4, prefix="orphan")]
    go = threading.Event()

    def call(i: int) -> Outcome:
        go.wait()
        return chat(replicas[i % 2].url, api_key, routing_key=keys[i], stream=i % 2 == 0)

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(call, i) for i in range(len(keys))]
        go.set()
        after = [f.result() for f in futures]
    for outcome in after:
        assert_answered_by_the_cloud(outcome)
    assert sum(o.fallback for o in after) >= 3  # local was tried (and failed) at least thrice
    assert_one_rollback_and_every_attempt_stored(outcomes + after, replicas)
