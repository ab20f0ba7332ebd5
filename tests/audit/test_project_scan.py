"""The audit run on llmcontrol's own source: the only direct LLM calls are the adapters'."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

REPO = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("llmcontrol/", "registry/", "canary/", "benchmarks/")
ADAPTERS = ("llmcontrol/providers/ollama.py", "llmcontrol/providers/openai_compat.py",
            "llmcontrol/providers/anthropic_sdk.py", "llmcontrol/providers/gemini.py")


@pytest.mark.django_db
def test_direct_calls_in_our_own_source_are_only_in_the_provider_adapters() -> None:
    out = StringIO()
    call_command("audit_llm_calls", str(REPO), "--exclude", "tests/audit_fixtures",
                 "--format", "json", stdout=out)
    report = json.loads(out.getvalue())

    ours = [s for s in report["sites"] if s["file"].startswith(SOURCE_DIRS)]
    direct = [s for s in ours if not s["migrated"]]
    assert direct, "the adapters' calls must be found"
    assert [s for s in direct if not s["file"].startswith("llmcontrol/providers/")] == []
    for adapter in ADAPTERS:
        assert [s for s in direct if s["file"] == adapter], f"no site found in {adapter}"
    # Calls through the client (a management command, say) are migrated, never direct.
    assert all(s["sdk"] == "llmcontrol" for s in ours if s["migrated"])
    assert [u for u in report["unparseable"] if u["file"].startswith(SOURCE_DIRS)] == []
    assert not [s for s in report["sites"] if s["file"].startswith("tests/audit_fixtures/")]
