"""Fixtures for the control room: rollouts (from the rollout tests), metric rows at set times."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import count
from typing import Any

import pytest

from canary.recorder import DatabaseSink
from llmcontrol.client.metrics import MetricRecord
from tests.rollouts.conftest import add_metrics, haiku_rollout, put_at, rollout_at_25  # noqa: F401

MODELS = {"local": ("llamacpp-local", "smollm2-135m-instruct"),
          "cloud": ("anthropic", "claude-haiku-3-5-20241022"),
          "fallback": ("anthropic", "claude-haiku-3-5-20241022")}

Writer = Callable[..., None]


@pytest.fixture
def write_metric() -> Iterator[Writer]:
    """write_metric(at, routed_to, **fields): one attempt, through the metric sink (raw row and
    per-minute rollup together, as the client's writer stores them)."""
    ids = count()

    def write(at: datetime, routed_to: str, *, tier: str = "haiku", stage: int = 25,
              success: bool = True, latency_ms: float = 300.0, **fields: Any) -> None:
        provider, model = MODELS[routed_to]
        fields.setdefault("provider", provider)
        fields.setdefault("model", model)
        record = MetricRecord(
            request_id=f"r{next(ids)}", attempt=1 if routed_to == "fallback" else 0, tier=tier,
            routed_to=routed_to, bucket=7, stage=stage, success=success, latency_ms=latency_ms,
            error_type=fields.pop("error_type", "" if success else "server_error"),
            created_at=at, **fields)
        DatabaseSink(source="test").write([record])

    yield write
