"""`manage.py audit_llm_calls`: formats, --output, the estimate's sources, errors."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("audit_llm_calls", *args, stdout=out)
    return out.getvalue()


def test_json_report_has_stable_keys_and_the_fixture_figures(fixture_tree: Path) -> None:
    report = json.loads(run(str(fixture_tree), "--format", "json"))

    assert list(report) == ["schema_version", "root", "summary", "by_sdk", "estimate",
                            "priority", "sites", "unparseable"]
    assert report["schema_version"] == 1
    assert report["root"] == str(fixture_tree)
    summary = report["summary"]
    assert (summary["total_sites"], summary["haiku_eligible"], summary["sonnet"],
            summary["opus"], summary["unknown"], summary["migrated"],
            summary["archived_sites"]) == (29, 16, 5, 3, 2, 2, 3)
    assert report["sites"][1] == {
        "file": "app/factories.py", "line": 13, "language": "python", "sdk": "openai",
        "call": "openai.OpenAI().chat.completions.create", "model": "gpt-4o-mini",
        "streaming": False, "archived": False, "migrated": False, "local": False,
        "tier": "haiku",
        "tier_reason": "model 'gpt-4o-mini' is a haiku model; "
                       "function name 'extract_invoice_fields' suggests extraction",
        "function": "extract_invoice_fields", "function_lines": 6,
    }
    assert report["unparseable"] == [
        {"file": "app/broken.py", "error": "SyntaxError: expected ':' (line 3)"},
        {"file": "app/latin1.py", "error": "not utf-8 text (byte 22)"},
        {"file": "web/broken.ts", "error": "syntax error (line 3)"},
    ]


def test_estimate_falls_back_to_stated_defaults_on_an_empty_database(fixture_tree: Path) -> None:
    estimate = json.loads(run(str(fixture_tree), "--format", "json"))["estimate"]

    assert estimate == {
        "sites": 11,
        "calls_per_month_per_site": 1000,
        "monthly_calls": 11_000,
        "input_tokens_per_call": 1200,
        "output_tokens_per_call": 300,
        "tokens_source": "default per call (no recorded haiku-tier averages)",
        "monthly_input_tokens": 13_200_000,
        "monthly_output_tokens": 3_300_000,
        "monthly_tokens": 16_500_000,
        "input_price_per_mtok": "0.80",
        "output_price_per_mtok": "4.00",
        "price_source": "default haiku list price (no active cloud haiku model in the registry)",
        "monthly_cost_usd": "23.76",
    }


def test_estimate_uses_recorded_averages_and_the_registry_price(fixture_tree: Path) -> None:
    from canary.models import RequestMetric
    from registry.models import Model, Provider

    cloud = Provider.objects.create(key="anthropic", name="Anthropic", kind="anthropic",
                                    base_url="https://cloud.invalid", is_local=False)
    local = Provider.objects.create(key="ollama", name="Ollama", kind="ollama",
                                    base_url="http://127.0.0.1:11434", is_local=True)
    Model.objects.create(provider=local, model_key="qwen3-coder:30b", display_name="Qwen",
                         tier="haiku", priority=1, input_price_per_mtok=Decimal("0"),
                         output_price_per_mtok=Decimal("0"))
    Model.objects.create(provider=cloud, model_key="claude-haiku", display_name="Haiku",
                         tier="haiku", priority=10, input_price_per_mtok=Decimal("1.0000"),
                         output_price_per_mtok=Decimal("5.0000"))
    now = timezone.now()
    common = {"request_id": "r", "provider": "anthropic", "model": "claude-haiku",
              "routed_to": "cloud", "bucket": 1, "stage": 0, "success": True, "latency_ms": 10.0}
    RequestMetric.objects.create(created_at=now, tier="haiku", input_tokens=1000,
                                 output_tokens=100, **common)
    RequestMetric.objects.create(created_at=now, tier="haiku", input_tokens=2000,
                                 output_tokens=300, **common)
    # Not counted: another tier, a failed attempt without tokens, and an old row.
    RequestMetric.objects.create(created_at=now, tier="sonnet", input_tokens=9000,
                                 output_tokens=900, **common)
    RequestMetric.objects.create(created_at=now, tier="haiku", input_tokens=0,
                                 output_tokens=0, **{**common, "success": False})
    RequestMetric.objects.create(created_at=now - timedelta(days=45), tier="haiku",
                                 input_tokens=50_000, output_tokens=5000, **common)

    estimate = json.loads(run(str(fixture_tree), "--format", "json",
                              "--calls-per-month", "100"))["estimate"]

    assert (estimate["input_tokens_per_call"], estimate["output_tokens_per_call"]) == (1500, 200)
    assert estimate["tokens_source"] == (
        "recorded average of 2 haiku-tier requests in the last 30 days")
    assert (estimate["input_price_per_mtok"], estimate["output_price_per_mtok"]) == (
        "1.0000", "5.0000")
    assert estimate["price_source"] == (
        "registry model 'anthropic/claude-haiku' (the first active cloud haiku model)")
    # 11 sites x 100 calls: 1.65 M input x $1 + 0.22 M output x $5
    assert estimate["monthly_tokens"] == 1_100 * 1_700
    assert estimate["monthly_cost_usd"] == "2.75"


def test_table_is_the_default_and_shows_the_summary(fixture_tree: Path) -> None:
    text = run(str(fixture_tree))

    for line in ("call sites        29", "haiku-eligible    16", "sonnet            5",
                 "opus              3", "unknown           2", "already migrated  2",
                 "archived          3"):
        assert f"  {line}\n" in text
    assert "files scanned: 15; unparseable (skipped): 3" in text
    assert "= 16,500,000 tokens/month" in text
    assert "about $23.76/month" in text
    assert "price: default haiku list price" in text
    assert "app/broken.py: SyntaxError: expected ':' (line 3)" in text
    assert re.search(r"^ +1 +haiku\* +app/gemini_calls\.py:7 +google-genai +gemini-2\.0-flash ",
                     text, re.MULTILINE)


def test_markdown_report_carries_the_summary_and_the_assumptions(fixture_tree: Path) -> None:
    text = run(str(fixture_tree), "--format", "markdown")

    assert text.startswith("# LLM call-site audit\n")
    for row in ("| call sites | 29 |", "| haiku-eligible | 16 |", "| sonnet | 5 |", "| opus | 3 |",
                "| unknown | 2 |", "| already migrated | 2 |", "| archived | 3 |"):
        assert row in text
    assert "## Migration priority" in text
    assert "| 1 | haiku | `app/gemini_calls.py:7` | google-genai | gemini-2.0-flash |" in text
    assert "- tokens per call: default per call (no recorded haiku-tier averages)" in text
    assert ("| `app/raw_http.py:19` | http | llama3.2:3b | haiku |  | yes |  |  | "
            "model 'llama3.2:3b' is a small local model |") in text
    assert "- `web/broken.ts`: syntax error (line 3)" in text


def test_output_writes_the_report_to_a_file(fixture_tree: Path, tmp_path: Path) -> None:
    target = tmp_path / "audit.json"

    message = run(str(fixture_tree), "--format", "json", "--output", str(target))

    assert message == f"Wrote the json report to {target}: 29 call sites, 15 quick wins.\n"
    assert json.loads(target.read_text(encoding="utf-8"))["summary"]["total_sites"] == 29


def test_a_missing_path_is_a_one_line_command_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    with pytest.raises(CommandError) as raised:
        run(str(missing))

    assert str(raised.value) == f"{missing}: no such file or directory"


def test_a_negative_call_volume_is_refused(fixture_tree: Path) -> None:
    with pytest.raises(CommandError, match=r"^--calls-per-month cannot be negative$"):
        run(str(fixture_tree), "--calls-per-month", "-1")


def test_exclude_and_archive_dir_flags_reach_the_scan(fixture_tree: Path) -> None:
    report = json.loads(run(str(fixture_tree), "--format", "json", "--exclude", "web",
                            "--exclude", "app", "--archive-dir", "legacy"))

    assert [(s["file"], s["archived"]) for s in report["sites"]] == [
        ("archive/old_pipeline.py", False),
        ("archive/old_pipeline.py", False),
        ("legacy/old_widget.js", True),
    ]
