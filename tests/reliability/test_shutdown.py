"""SIGTERM to a replica under load: the requests in flight (streams included) finish whole,
then the metrics still buffered are written before the process exits. Nothing is lost."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from canary.models import RequestMetric
from tests.fakes.behaviours import Reply
from tests.live import server_environment, start_replica, wait_for
from tests.reliability.gateway_calls import Outcome, chat, cloud_keys, local_keys
from tests.reliability.wiring import wire

STAGE = 50
WORDS = "one two three four five six seven eight nine ten"
# Slow enough that every call is still running when SIGTERM arrives.
SLOW = Reply(text=WORDS, delay_s=5.0, chunk_delay_s=0.3)
CALLS = 12


def test_sigterm_under_load_finishes_every_request_and_writes_every_row(
    api_key: str, fake_ollama: Any, fake_anthropic: Any, workdir: Path
) -> None:
    wire(anthropic=fake_anthropic.url, ollama=fake_ollama.url, stage=STAGE)
    fake_ollama.default = fake_anthropic.default = SLOW
    # Nothing written before the shutdown: a flush every minute, batches of 100,000.
    env = server_environment(METRICS_FLUSH_INTERVAL="60", METRICS_BATCH_SIZE="100000",
                             REGISTRY_POLL_INTERVAL="0.5", REGISTRY_SNAPSHOT_TTL="300",
                             API_KEY_CACHE_SECONDS="1")
    replica = start_replica(env, workdir)
    keys = [*local_keys(STAGE, CALLS // 2, "shutdown"), *cloud_keys(STAGE, CALLS // 2, "shutdown")]
    outcomes: list[Outcome] = []

    def call(i: int) -> None:
        outcomes.append(chat(replica.url, api_key, routing_key=keys[i], stream=i % 2 == 0,
                             content=f"question {i}"))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(CALLS)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(fake_ollama.requests) + len(fake_anthropic.requests) == CALLS,
                 timeout=60, message="the calls did not all reach the upstreams")
        finished_before_sigterm = len(outcomes)
        exit_code = replica.terminate(timeout=120)
    finally:
        replica.kill()
        for thread in threads:
            thread.join(timeout=120)

    assert finished_before_sigterm == 0
    assert len(outcomes) == CALLS
    for outcome in outcomes:
        assert outcome.status == 200, outcome
        assert outcome.fallback is False
        if outcome.stream:
            assert (outcome.done, outcome.error_events, outcome.text) == (True, [], WORDS)
        else:
            assert outcome.body["choices"][0]["message"]["content"] == WORDS
    assert {o.routed_to for o in outcomes} == {"local", "cloud"}
    # uvicorn shuts down, then re-raises SIGTERM: the status of a process ended by it.
    assert exit_code == -signal.SIGTERM
    log = replica.log_text()
    assert f"shutdown: {CALLS} buffered metric record(s) written" in log
    assert RequestMetric.objects.count() == CALLS
    assert RequestMetric.objects.filter(success=True).count() == CALLS
