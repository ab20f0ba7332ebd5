"""API keys through a database outage: one query attempt per cache period whatever the
traffic, one log line when it starts and one when it ends."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from django.db import OperationalError

from llmcontrol.api.keys import KeysUnavailable, key_cache
from registry.models import ApiKey, ApiKeyQuerySet

pytestmark = pytest.mark.django_db


class Clock:
    """Stands in for the keys module's monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    @staticmethod
    def time() -> float:
        return time.time()


def test_an_outage_costs_one_attempt_per_cache_period_and_one_log_line(
    monkeypatch: pytest.MonkeyPatch, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="llmcontrol.api.keys")
    clock = Clock()
    monkeypatch.setattr("llmcontrol.api.keys.time", clock)
    settings.API_KEY_CACHE_SECONDS = 1
    key_cache.clear()
    known = ApiKey.create("known")[1]
    stranger = ApiKey.create("stranger")[1]
    principal = key_cache.authenticate(known)
    assert principal is not None

    attempts: list[int] = []
    real_active = ApiKeyQuerySet.active
    database_down = True

    def active(self: ApiKeyQuerySet) -> Any:
        attempts.append(1)
        if database_down:
            raise OperationalError("connection refused")
        return real_active(self)

    monkeypatch.setattr(ApiKeyQuerySet, "active", active)
    for period in range(3):
        clock.now += 1.0  # the cache period is over: one attempt, then none until the next
        for _ in range(50):
            assert key_cache.authenticate(known) == principal
            with pytest.raises(KeysUnavailable):
                key_cache.authenticate(stranger)
        assert len(attempts) == period + 1

    database_down = False
    clock.now += 1.0
    assert key_cache.authenticate(stranger) is not None
    assert key_cache.authenticate(known) == principal
    warnings = [r.getMessage() for r in caplog.records]
    assert len([m for m in warnings if "database unavailable" in m]) == 1
    assert warnings[-1] == "API keys: database reachable again"
    key_cache.clear()
