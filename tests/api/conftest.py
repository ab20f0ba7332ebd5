"""API keys and clients for the REST API tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from llmcontrol.api.keys import key_cache
from registry.models import ApiKey, ApiKeyScope
from tests.rollouts.conftest import add_metrics, haiku_rollout, rollout_at_25  # noqa: F401

PROVIDER_SECRET = "sk-ant-this-must-never-leave-the-server-0123456789"


@pytest.fixture(autouse=True)
def _fresh_keys_and_counts(settings: Any) -> Iterator[None]:
    """Every key check reads the database (no cache carried across tests), and no
    throttle count survives a test."""
    settings.API_KEY_CACHE_SECONDS = 0
    key_cache.clear()
    cache.clear()
    yield
    key_cache.clear()
    cache.clear()


def client_with(raw_key: str | None) -> APIClient:
    client = APIClient()
    if raw_key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def route_key(db: None) -> str:
    return ApiKey.create("billing-service", ApiKeyScope.ROUTE)[1]


@pytest.fixture
def admin_key(db: None) -> str:
    return ApiKey.create("release-bot", ApiKeyScope.ADMIN)[1]


@pytest.fixture
def api(route_key: str) -> APIClient:
    """A client with a route-scope key."""
    return client_with(route_key)


@pytest.fixture
def admin_api(admin_key: str) -> APIClient:
    """A client with an admin-scope key."""
    return client_with(admin_key)


@pytest.fixture
def provider_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    """A cloud provider key set in the server's environment: it must appear nowhere."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", PROVIDER_SECRET)
    return PROVIDER_SECRET
