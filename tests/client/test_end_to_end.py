"""Whole-system paths: a rollout losing its local server, metrics at exit, the real model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from canary import actions
from canary.models import RequestMetric, Rollout, Transition
from llmcontrol.client import get_llm_client, refresh_model_registry
from tests.client.conftest import stored_metrics

ROOT = Path(__file__).resolve().parents[2]


def test_local_server_killed_mid_rollout_rolls_back_and_no_caller_notices(
    wired_registry: dict, settings
) -> None:
    settings.REGISTRY_POLL_INTERVAL = 0.05
    actions.set_stage("haiku", 25, actor="test")
    ollama = wired_registry["ollama"]
    results = []
    for i in range(300):
        if i == 100:
            ollama.stop()  # the local model server dies mid-run
        client = get_llm_client(purpose="classification", routing_key=f"user-{i}")
        results.append(client.complete("Label it.", f"ticket {i}"))  # never raises

    rows = stored_metrics()  # drains the writer, which runs the fast path after each batch
    rollout = Rollout.objects.get(tier="haiku")
    assert (rollout.stage, rollout.status) == (0, "rolled_back")
    [transition] = Transition.objects.filter(reason="consecutive_failures")
    assert (transition.from_stage, transition.actor) == (25, "fast-path")
    assert [f["error_type"] for f in transition.evidence["failures"]] == ["unavailable"] * 3
    # Every attempt of every call is a row: nothing lost.
    assert len(rows) == sum(r.attempts for r in results)
    assert sum(r.local for r in results[:100]) > 10  # ~25% went local before the crash
    assert all(r.content for r in results)

    refresh_model_registry()
    after = [
        get_llm_client(purpose="classification", routing_key=f"user-{i}").complete("L", "t")
        for i in range(40)
    ]
    assert {r.routed_to for r in after} == {"cloud"}


def test_metrics_queued_in_memory_are_written_when_a_process_exits(wired_registry: dict) -> None:
    settings_dict = connection.settings_dict
    url = f"postgres://postgres@127.0.0.1:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "true",
        "METRICS_FLUSH_INTERVAL": "3600",
        "METRICS_BATCH_SIZE": "100000",
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.client.calls_child", "25"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "done", result.stderr
    assert RequestMetric.objects.filter(routed_to="local", success=True).count() == 25


@pytest.mark.slow
def test_the_real_local_model_through_the_client(wired_registry: dict, smollm2_server: str) -> None:
    from registry.models import Provider

    Provider.objects.filter(key="llamacpp-local").update(base_url=smollm2_server)
    refresh_model_registry()
    client = get_llm_client(model="smollm2-135m-instruct")
    result = client.complete("You are a helpful assistant.", "Name three colours.", max_tokens=24)
    assert result.local is True and result.fallback is False
    assert result.provider == "llamacpp-local" and result.content.strip()
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    parts = list(client.stream(None, "Count from one to five.", max_tokens=24))
    assert all(isinstance(p, str) for p in parts[:-1]) and parts[-1].ttft_ms is not None
    assert [(m.routed_to, m.success) for m in stored_metrics()] == [("local", True)] * 2
