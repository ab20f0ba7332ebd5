"""The audit of tests/audit_fixtures: every site, every field, exact counts."""

from __future__ import annotations

from pathlib import Path

from llmcontrol.audit import Assumptions, audit_tree, build_report

# (file, line, sdk, model, streaming, tier, archived, migrated)
EXPECTED_SITES = [
    ("app/adapters/gemini_rest.py", 9, "http", "gemini-2.0-flash", False, "haiku", False, False),
    ("app/factories.py", 13, "openai", "gpt-4o-mini", False, "haiku", False, False),
    ("app/factories.py", 24, "anthropic", "claude-opus-4-1", False, "opus", False, False),
    ("app/gemini_calls.py", 7, "google-genai", "gemini-2.0-flash", False, "haiku", False, False),
    ("app/gemini_calls.py", 12, "google-genai", "gemini-1.5-pro", True, "sonnet", False, False),
    ("app/local_calls.py", 7, "ollama", "llama3.2:3b", False, "haiku", False, False),
    ("app/local_calls.py", 11, "ollama", "qwen3-coder:30b", True, "sonnet", False, False),
    ("app/local_calls.py", 17, "litellm", "gpt-4o", False, "sonnet", False, False),
    ("app/local_calls.py", 21, "litellm", None, False, "unknown", False, False),
    ("app/migrated.py", 5, "llmcontrol", None, False, "haiku", False, True),
    ("app/migrated.py", 10, "llmcontrol", None, True, "opus", False, True),
    ("app/raw_http.py", 12, "http", "claude-3-5-haiku-latest", False, "haiku", False, False),
    ("app/raw_http.py", 19, "http", "llama3.2:3b", False, "haiku", False, False),
    ("app/raw_http.py", 25, "http", "gpt-4o", True, "sonnet", False, False),
    ("app/raw_http.py", 32, "http", "gemini-1.5-flash", False, "haiku", False, False),
    ("app/raw_http.py", 50, "http", None, False, "unknown", False, False),
    ("app/raw_http.py", 59, "http", "phi3:mini", False, "haiku", False, False),
    ("app/triage.py", 10, "anthropic", "claude-3-5-haiku-20241022", False, "haiku", False, False),
    ("app/triage.py", 21, "anthropic", "claude-3-5-sonnet-latest", True, "haiku", False, False),
    ("archive/old_pipeline.py", 7, "anthropic", "claude-3-haiku-20240307", False, "haiku", True,
     False),
    ("archive/old_pipeline.py", 11, "anthropic", "claude-3-sonnet-20240229", False, "sonnet", True,
     False),
    ("legacy/old_widget.js", 6, "openai", "gpt-4o-mini", False, "haiku", True, False),
    ("web/Summary.tsx", 6, "http", "claude-3-5-haiku-latest", False, "haiku", False, False),
    ("web/classifier.js", 13, "anthropic", "claude-3-5-haiku-20241022", False, "haiku", False,
     False),
    ("web/classifier.js", 22, "http", "llama3.2:3b", True, "haiku", False, False),
    ("web/review.ts", 14, "openai", "gpt-4o", True, "sonnet", False, False),
    ("web/review.ts", 18, "anthropic", "claude-sonnet-4-5", True, "opus", False, False),
    ("web/review.ts", 24, "google-genai", "gemini-2.0-flash-lite", False, "haiku", False, False),
    ("web/review.ts", 29, "http", "gpt-4.1-nano", False, "haiku", False, False),
]


def fields(site) -> tuple:
    return (site.file, site.line, site.sdk, site.model, site.streaming, site.tier, site.archived,
            site.migrated)


def test_every_site_of_the_fixture_tree_with_its_fields(fixture_tree: Path) -> None:
    result = audit_tree(fixture_tree)

    assert [fields(s) for s in result.sites] == EXPECTED_SITES


def test_unparseable_files_are_reported_and_skipped(fixture_tree: Path) -> None:
    result = audit_tree(fixture_tree)

    assert [(u.file, u.error) for u in result.unparseable] == [
        ("app/broken.py", "SyntaxError: expected ':' (line 3)"),
        ("app/latin1.py", "not utf-8 text (byte 22)"),
        ("web/broken.ts", "syntax error (line 3)"),
    ]
    assert result.files_scanned == 15
    assert not {"app/broken.py", "app/latin1.py", "web/broken.ts"} & {s.file for s in result.sites}


def test_vendored_and_build_folders_are_skipped(fixture_tree: Path) -> None:
    assert (fixture_tree / "node_modules" / "openai" / "index.js").exists()
    assert (fixture_tree / "build" / "bundle.js").exists()

    files = {s.file for s in audit_tree(fixture_tree).sites}

    assert not [f for f in files if f.startswith(("node_modules/", "build/"))]


def test_summary_counts(fixture_tree: Path) -> None:
    report = build_report(audit_tree(fixture_tree), Assumptions())

    assert report["summary"] == {
        "total_sites": 29,
        "active_sites": 26,
        "archived_sites": 3,
        "haiku_eligible": 16,
        "sonnet": 5,
        "opus": 3,
        "unknown": 2,
        "migrated": 2,
        "quick_wins": 15,
        "already_local": 6,
        "streaming": 8,
        "files_scanned": 15,
        "unparseable_files": 3,
    }
    assert report["by_sdk"] == {
        "anthropic": 5, "google-genai": 3, "http": 10, "litellm": 2, "llmcontrol": 2,
        "ollama": 2, "openai": 2,
    }


def test_priority_puts_short_haiku_sites_first_and_leaves_out_migrated_and_archived(
        fixture_tree: Path) -> None:
    priority = build_report(audit_tree(fixture_tree), Assumptions())["priority"]

    order = [(p["file"], p["line"], p["tier"], p["function_lines"]) for p in priority]
    assert order[:4] == [
        ("app/gemini_calls.py", 7, "haiku", 2),
        ("app/local_calls.py", 7, "haiku", 2),
        ("app/raw_http.py", 19, "haiku", 2),
        ("app/raw_http.py", 59, "haiku", 2),
    ]
    assert [p["tier"] for p in priority] == ["haiku"] * 15 + ["unknown"] * 2 + ["sonnet"] * 5 + [
        "opus"] * 2
    assert [p["rank"] for p in priority] == list(range(1, 25))
    assert not {("app/migrated.py", 5), ("archive/old_pipeline.py", 7)} & {
        (p["file"], p["line"]) for p in priority}


def test_estimate_counts_only_cloud_quick_wins(fixture_tree: Path) -> None:
    assumptions = Assumptions(calls_per_month=2_000)

    estimate = build_report(audit_tree(fixture_tree), assumptions)["estimate"]

    # 15 quick wins, 4 of which already call a local model (ollama, /api/generate, /api/chat).
    assert estimate["sites"] == 11
    assert estimate["monthly_calls"] == 22_000
    assert estimate["monthly_input_tokens"] == 26_400_000
    assert estimate["monthly_output_tokens"] == 6_600_000
    assert estimate["monthly_tokens"] == 33_000_000
    # 26.4 M x $0.80 + 6.6 M x $4.00
    assert estimate["monthly_cost_usd"] == "47.52"


def test_tier_reasons_are_readable(fixture_tree: Path) -> None:
    reasons = {(s.file, s.line): s.tier_reason for s in audit_tree(fixture_tree).sites}

    assert reasons[("app/triage.py", 10)] == (
        "model 'claude-3-5-haiku-20241022' is a haiku model; "
        "function name 'classify_ticket' suggests classification")
    assert reasons[("app/triage.py", 21)] == (
        "function name 'summarize_short' suggests a short summary; "
        "haiku-eligible although model 'claude-3-5-sonnet-latest' is a sonnet model")
    assert reasons[("app/factories.py", 24)] == (
        "prompt text mentions 'vulnerabilities', suggesting vulnerability analysis "
        "(opus, never local); model 'claude-opus-4-1' is an opus model")
    assert reasons[("app/migrated.py", 10)] == (
        "client factory 'get_security_client' suggests security work (opus, never local)")
    assert reasons[("app/local_calls.py", 21)] == (
        "model not visible in the source and no purpose hint was found")


def test_excluded_globs_and_custom_archive_dirs(fixture_tree: Path) -> None:
    result = audit_tree(fixture_tree, excludes=["web", "*_calls.py"], archive_dirs=["legacy"])

    files = {s.file for s in result.sites}
    assert files == {"app/adapters/gemini_rest.py", "app/factories.py", "app/migrated.py",
                     "app/raw_http.py", "app/triage.py",
                     "archive/old_pipeline.py", "legacy/old_widget.js"}
    assert {s.file for s in result.sites if s.archived} == {"legacy/old_widget.js"}
    assert [u.file for u in result.unparseable] == ["app/broken.py", "app/latin1.py"]
