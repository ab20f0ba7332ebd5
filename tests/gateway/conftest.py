"""A live ASGI server (uvicorn in a subprocess, on the test database) and a registry wired
to the fake providers, for driving the gateway with the official OpenAI SDK."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from canary.models import RequestMetric
from registry.models import ApiKey, ApiKeyScope
from tests.live import (  # noqa: F401 - re-exported for the gateway tests
    ANTHROPIC_KEY,
    ROOT,
    LiveServer,
    database_url,
    server_environment,
    start_server,
    stop_server,
)


@pytest.fixture(scope="session")
def gateway_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[LiveServer]:
    """One uvicorn process for the session, serving llmcontrol.asgi on the test database."""
    with tempfile.TemporaryDirectory() as workdir:
        child, server = start_server(server_environment(), workdir)
        try:
            yield server
        finally:
            stop_server(child)


@pytest.fixture
def gateway_registry(transactional_db: None, fake_ollama: Any, fake_anthropic: Any,
                     fake_openai: Any) -> dict[str, Any]:
    """The seed's registry, committed, with Ollama, llama.cpp and Anthropic pointed at the
    fakes, OpenAI and Google disabled (no test reaches the internet), haiku 100% local."""
    from canary import actions
    from registry.actions import bump_version, seed_defaults
    from registry.models import Provider

    seed_defaults()
    Provider.objects.filter(key="ollama").update(base_url=fake_ollama.url, max_retries=0)
    Provider.objects.filter(key="llamacpp-local").update(base_url=fake_openai.url, max_retries=0)
    Provider.objects.filter(key="anthropic").update(base_url=fake_anthropic.url, max_retries=0)
    Provider.objects.filter(key__in=["openai", "google"]).update(enabled=False)
    fake_anthropic.api_key = ANTHROPIC_KEY
    actions.create_rollout("haiku", actor="test")
    actions.set_stage("haiku", 100, actor="test", force=True, note="tests route all haiku local")
    bump_version()
    return {"ollama": fake_ollama, "anthropic": fake_anthropic, "llamacpp": fake_openai,
            "started": timezone.now()}


@pytest.fixture
def gateway_key(transactional_db: None) -> str:
    return ApiKey.create("gateway-tests", ApiKeyScope.ROUTE)[1]


@pytest.fixture
def openai_client(gateway_server: LiveServer, gateway_key: str) -> Iterator[Any]:
    from openai import OpenAI

    client = OpenAI(base_url=f"{gateway_server.url}/v1", api_key=gateway_key, max_retries=0,
                    timeout=30)
    yield client
    client.close()


def metrics_since(started: Any, count: int, timeout: float = 10.0) -> list[RequestMetric]:
    """The metric rows written since `started`, once there are `count` of them (they are
    written by the server's background writer, a few tens of milliseconds later)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = list(RequestMetric.objects.filter(created_at__gte=started)
                    .order_by("created_at", "attempt"))
        if len(rows) >= count or time.monotonic() > deadline:
            assert len(rows) == count, [(r.provider, r.routed_to, r.success) for r in rows]
            return rows
        time.sleep(0.05)
