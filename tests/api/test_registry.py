"""Registry reads: providers and models, with no secret anywhere in the API."""

from __future__ import annotations

import logging

import pytest
from rest_framework.test import APIClient

from registry.models import Model

pytestmark = pytest.mark.usefixtures("seeded_registry")


def test_providers(api: APIClient) -> None:
    providers = api.get("/api/v1/providers/").json()
    assert [p["key"] for p in providers] == ["anthropic", "google", "llamacpp-local", "ollama",
                                             "openai"]
    anthropic = api.get("/api/v1/providers/anthropic").json()
    assert set(anthropic) == {"key", "name", "kind", "base_url", "api_key_env", "is_local",
                              "enabled", "timeout_ms", "max_retries", "retry_backoff_ms",
                              "updated_at"}
    assert anthropic["api_key_env"] == "ANTHROPIC_API_KEY"
    assert api.get("/api/v1/providers/nope").status_code == 404


def test_models_and_their_filters(api: APIClient) -> None:
    assert len(api.get("/api/v1/models/").json()) == Model.objects.count()
    local_haiku = api.get("/api/v1/models/?tier=haiku&provider=ollama").json()
    assert [m["ref"] for m in local_haiku] == ["ollama/qwen3-coder:30b", "ollama/llama3.2:3b"]
    assert local_haiku[0]["is_local"] is True and local_haiku[0]["input_price_per_mtok"] == "0.0000"
    one = Model.objects.get(model_key="gpt-4o-mini")
    assert api.get(f"/api/v1/models/{one.pk}").json()["ref"] == "openai/gpt-4o-mini"
    bad = api.get("/api/v1/models/?tier=gpt")
    assert (bad.status_code, list(bad.json())) == (400, ["tier"])


def test_no_response_log_line_or_schema_carries_a_provider_secret(
    api: APIClient, provider_secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies = [api.get(path).content for path in (
        "/api/v1/providers/", "/api/v1/providers/anthropic", "/api/v1/models/",
        "/api/v1/rollouts/", "/api/v1/routing-table", "/api/schema/", "/api/docs/")]
    bodies.append(api.post("/api/v1/route", {"purpose": "security"}, format="json").content)
    bodies.append(api.post("/api/v1/route", {"model": "nope"}, format="json").content)
    for body in bodies:
        assert provider_secret.encode() not in body
    assert provider_secret not in caplog.text
