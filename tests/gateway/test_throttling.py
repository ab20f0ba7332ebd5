"""The gateway's per-key limit (scope "gateway"), in-process."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from llmcontrol.api.keys import key_cache
from registry.models import ApiKey


@pytest.fixture
def limited(settings: Any) -> Any:
    settings.API_KEY_CACHE_SECONDS = 0
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "gateway": "2/min"}}
    key_cache.clear()
    cache.clear()
    yield
    cache.clear()


@pytest.mark.usefixtures("limited", "seeded_registry")
def test_a_key_over_its_gateway_rate_gets_429_with_retry_after() -> None:
    raw = ApiKey.create("chatty")[1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert [client.get("/v1/models").status_code for _ in range(2)] == [200, 200]
    limited = client.get("/v1/models")
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    other = Client(HTTP_AUTHORIZATION=f"Bearer {ApiKey.create('quiet')[1]}")
    assert other.get("/v1/models").status_code == 200
