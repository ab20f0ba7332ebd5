"""A registry whose local providers point at the fake servers, and helpers to build cases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from llmcontrol.client import pool


@pytest.fixture
def bench_registry(db: None, fake_ollama, fake_openai,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """The seed's registry with Ollama and the bundled llama.cpp provider on the fakes."""
    from registry.actions import bump_version, seed_defaults
    from registry.models import Provider

    seed_defaults()
    Provider.objects.filter(key="ollama").update(base_url=fake_ollama.url, max_retries=0)
    Provider.objects.filter(key="llamacpp-local").update(base_url=fake_openai.url)
    bump_version()
    for name in ("OLLAMA_BASE_URL", "OLLAMA_TIMEOUT_MS", "ANTHROPIC_API_KEY", "OPENAI_API_KEY",
                 "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield {"ollama": fake_ollama, "llamacpp": fake_openai}
    pool.close_all()


@pytest.fixture
def only_cases(db: None):
    """Replace the shipped suites with the given cases: only_cases(dict(...), ...)."""
    from benchmarks.actions import load_suites
    from benchmarks.models import BenchmarkCase

    def make(*cases: dict[str, Any]) -> list[BenchmarkCase]:
        load_suites()  # also creates the default verdict policies
        BenchmarkCase.objects.update(enabled=False)
        made = []
        for position, values in enumerate(cases):
            values = {"system_prompt": "", "max_tokens": 32, "position": position, **values}
            case = BenchmarkCase(**values)
            case.full_clean()
            case.save()
            made.append(case)
        return made

    return make
