"""A registry whose providers point at the fake servers, and a way to read the metrics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from canary.models import RequestMetric
from canary.recorder import database_recorder
from llmcontrol.client import pool

ANTHROPIC_KEY = "sk-ant-fake-key-for-tests"


@pytest.fixture
def wired_registry(transactional_db: None, fake_ollama, fake_anthropic, fake_openai,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """The seed's registry, committed (the metric writer thread must see it), with
    Ollama, llama.cpp and Anthropic pointed at the fakes and haiku's rollout at 100%."""
    from canary import actions
    from registry.actions import bump_version, seed_defaults
    from registry.models import Provider, RoutingRule

    seed_defaults()
    Provider.objects.filter(key="ollama").update(base_url=fake_ollama.url, max_retries=0)
    Provider.objects.filter(key="llamacpp-local").update(base_url=fake_openai.url, max_retries=0)
    Provider.objects.filter(key="anthropic").update(base_url=fake_anthropic.url, max_retries=0)
    # Only Anthropic answers for the cloud: keeps the fallback chain to one known model.
    fake_anthropic.api_key = ANTHROPIC_KEY
    actions.create_rollout("haiku", actor="test")
    actions.set_stage("haiku", 100, actor="test", force=True, note="tests route all haiku local")
    assert RoutingRule.objects.exists()
    bump_version()
    monkeypatch.setenv("USE_LOCAL_LLM", "true")
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.delenv("OLLAMA_BASE_URL", raising=False)
    monkeypatch.delenv("OLLAMA_MODEL", raising=False)
    monkeypatch.delenv("OLLAMA_FALLBACK_ENABLED", raising=False)
    monkeypatch.delenv("LLMCONTROL_URL", raising=False)
    yield {"ollama": fake_ollama, "anthropic": fake_anthropic, "llamacpp": fake_openai}
    database_recorder().flush(timeout=10)
    pool.close_all()


def stored_metrics() -> list[RequestMetric]:
    assert database_recorder().flush(timeout=10), "metrics did not drain"
    return list(RequestMetric.objects.order_by("created_at", "attempt"))


@pytest.fixture
def fake_ollama_2() -> Iterator:
    from tests.fakes.fake_ollama import FakeOllama

    with FakeOllama() as server:
        yield server
