"""Per-key rate limits: 429 with Retry-After, each key counted on its own."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from registry.models import ApiKey
from tests.api.conftest import client_with

pytestmark = pytest.mark.usefixtures("seeded_registry")


@pytest.fixture
def two_per_minute(settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "route": "2/min"}}


@pytest.mark.usefixtures("two_per_minute")
def test_a_key_over_its_rate_gets_429_with_retry_after(api: APIClient) -> None:
    statuses = [api.post("/api/v1/route", {"purpose": "fast"}, format="json").status_code
                for _ in range(2)]
    assert statuses == [200, 200]
    limited = api.post("/api/v1/route", {"purpose": "fast"}, format="json")
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited.json()["detail"].startswith("Request was throttled.")
    # Another key has its own budget; another scope of the same key too.
    other = client_with(ApiKey.create("other")[1])
    assert other.post("/api/v1/route", {"purpose": "fast"}, format="json").status_code == 200
    assert api.get("/api/v1/providers/").status_code == 200


def test_rates_are_parsed_strictly(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmcontrol.settings import throttle_rate
    from llmcontrol.switches import ConfigError

    monkeypatch.setenv("API_RATE_ROUTE", "lots")
    with pytest.raises(ConfigError, match="API_RATE_ROUTE='lots' is not a rate"):
        throttle_rate("API_RATE_ROUTE", "100/s")
    monkeypatch.setenv("API_RATE_ROUTE", "off")
    assert throttle_rate("API_RATE_ROUTE", "100/s") is None
