"""Fixtures for rollout tests: a seeded registry with a haiku rollout, and metric rows."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from canary import actions
from canary.models import Rollout, RolloutStatus
from canary.recorder import DatabaseSink
from llmcontrol.client.metrics import MetricRecord


@pytest.fixture
def haiku_rollout(seeded_registry: None) -> Rollout:
    from registry.models import Model

    return actions.create_rollout(
        "haiku", actor="test",
        candidate=Model.objects.get(model_key="smollm2-135m-instruct"),
        baseline=Model.objects.get(model_key="claude-haiku-3-5-20241022"),
    )


def put_at(rollout: Rollout, stage: int, status: str = RolloutStatus.ROLLING) -> Rollout:
    """Place a rollout at a stage directly (test set-up only; the actions are under test)."""
    Rollout.objects.filter(pk=rollout.pk).update(
        stage=stage, status=status, stage_entered_at=timezone.now() - timedelta(hours=2))
    rollout.refresh_from_db()
    return rollout


@pytest.fixture
def rollout_at_25(haiku_rollout: Rollout) -> Rollout:
    return put_at(haiku_rollout, 25)


MetricMaker = Callable[..., None]


@pytest.fixture
def add_metrics() -> MetricMaker:
    """add_metrics(rollout, arm, n, error_rate=..., latency_ms=..., **fields).

    Written through the metric sink, as the client's writer does: raw rows and
    per-minute rollups together.
    """

    def make(rollout: Rollout, arm: str, n: int, *, error_rate: float = 0.0,
             latency_ms: float = 300.0, seed: int = 1, ago_s: float = 0,
             **fields: object) -> None:
        rng = random.Random(seed)
        now = timezone.now()
        local = arm == "local"
        model = rollout.candidate if local else rollout.baseline
        records = []
        for i in range(n):
            ok = rng.random() >= error_rate
            records.append(MetricRecord(
                created_at=now - timedelta(seconds=ago_s + n - i), request_id=f"{arm}{seed}-{i}",
                attempt=0, tier=rollout.tier, provider=model.provider.key if model else "p",
                model=model.model_key if model else "m", routed_to=arm, bucket=i % 10_000,
                stage=rollout.stage, success=ok, error_type="" if ok else "server_error",
                latency_ms=latency_ms * rng.uniform(0.8, 1.2), **fields,
            ))
        DatabaseSink(source="test").write(records)

    return make
