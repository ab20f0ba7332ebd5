"""Tier estimates: model families, purpose hints, and the order between them."""

from __future__ import annotations

import pytest

from llmcontrol.audit.classify import estimate_tier, is_local_call, model_family
from llmcontrol.audit.models import Hint


@pytest.mark.parametrize(("model", "tier"), [
    ("claude-3-5-haiku-20241022", "haiku"),
    ("gpt-4o-mini", "haiku"),
    ("gemini-2.0-flash-lite", "haiku"),
    ("gpt-4.1-nano", "haiku"),
    ("gpt-3.5-turbo", "haiku"),
    ("llama3.2:3b", "haiku"),
    ("ollama/mistral", "haiku"),
    ("qwen3-coder:30b", "sonnet"),
    ("claude-sonnet-4-5", "sonnet"),
    ("gpt-4o", "sonnet"),
    ("gemini-1.5-pro", "sonnet"),
    ("claude-opus-4-1", "opus"),
    ("o1", "opus"),
    ("o4-mini", "haiku"),
])
def test_model_families(model: str, tier: str) -> None:
    family = model_family(model)

    assert family is not None and family[0] == tier


def test_an_unknown_model_name_says_nothing() -> None:
    assert model_family("my-finetune-v2") is None
    assert estimate_tier("my-finetune-v2", []) == (
        "unknown", "model 'my-finetune-v2' has no known family and no purpose hint was found")


def test_security_purpose_beats_a_cheap_model() -> None:
    tier, reason = estimate_tier("claude-3-5-haiku-latest", [
        Hint("function name", "scan_for_vulnerabilities")])

    assert tier == "opus"
    assert reason == ("function name 'scan_for_vulnerabilities' suggests vulnerability analysis "
                      "(opus, never local); model 'claude-3-5-haiku-latest' is a haiku model")


def test_a_cheap_purpose_makes_a_big_model_haiku_eligible_but_not_an_opus_one() -> None:
    classify = [Hint("class name", "TicketClassifier")]

    assert estimate_tier("gpt-4o", classify) == ("haiku", (
        "class name 'TicketClassifier' suggests classification; "
        "haiku-eligible although model 'gpt-4o' is a sonnet model"))
    assert estimate_tier("claude-opus-4-1", classify) == (
        "opus", "model 'claude-opus-4-1' is an opus model (never local)")


def test_purpose_alone_and_prompt_text() -> None:
    assert estimate_tier(None, [Hint("prompt text", "Give a one-sentence summary of the doc")]) == (
        "haiku", "prompt text mentions 'one-sentence summary', suggesting a short summary")
    assert estimate_tier(None, [Hint("function name", "generate_release_notes")]) == (
        "sonnet", "function name 'generate_release_notes' suggests generation")


def test_local_calls() -> None:
    assert is_local_call("ollama", "ollama.chat", None)
    assert is_local_call("http", "httpx.post /api/chat", None)
    assert is_local_call("litellm", "litellm.completion", "ollama/llama3.2")
    assert not is_local_call("http", "httpx.post /chat/completions", "gpt-4o")
