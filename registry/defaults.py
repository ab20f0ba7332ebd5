"""The seed's providers and models: loaded by `seed_registry`, and the built-in
snapshot served when the database is unreachable at start."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from llmcontrol.routing import ModelSpec, ProviderSpec, RoutingSnapshot, freeze_rules
from llmcontrol.routing.document import parse

ROUTING_FILE = Path(__file__).parent / "data" / "phase-model-routing.json"
LLAMACPP_PORT = 8081

PROVIDERS: list[dict[str, Any]] = [
    {
        "key": "ollama",
        "name": "Ollama",
        "kind": "ollama",
        "base_url": "http://localhost:11434",
        "api_key_env": "",
        "is_local": True,
    },
    {
        "key": "llamacpp-local",
        "name": "Bundled SmolLM2 (llama.cpp server)",
        "kind": "openai_compatible",
        "base_url": f"http://127.0.0.1:{LLAMACPP_PORT}",
        "api_key_env": "",
        "is_local": True,
        "timeout_ms": 60_000,
    },
    {
        "key": "anthropic",
        "name": "Anthropic",
        "kind": "anthropic",
        "base_url": "https://api.anthropic.com",
        "api_key_env": "ANTHROPIC_API_KEY",
        "is_local": False,
    },
    {
        "key": "openai",
        "name": "OpenAI",
        "kind": "openai",
        "base_url": "https://api.openai.com",
        "api_key_env": "OPENAI_API_KEY",
        "is_local": False,
    },
    {
        "key": "google",
        "name": "Google Gemini",
        "kind": "google",
        "base_url": "https://generativelanguage.googleapis.com",
        "api_key_env": "GOOGLE_API_KEY",
        "is_local": False,
    },
]

# Prices in $ per million tokens. Local models carry an explicit 0, never "unknown".
MODELS: list[dict[str, Any]] = [
    {
        "provider": "ollama",
        "model_key": "qwen3-coder:30b",
        "display_name": "Qwen3 Coder 30B",
        "tier": "haiku",
        "priority": 10,
        "context_window": 32_768,
        "input": "0",
        "output": "0",
    },
    {
        "provider": "ollama",
        "model_key": "llama3.2:3b",
        "display_name": "Llama 3.2 3B",
        "tier": "haiku",
        "priority": 20,
        "context_window": 8_192,
        "input": "0",
        "output": "0",
    },
    {
        "provider": "llamacpp-local",
        "model_key": "smollm2-135m-instruct",
        "display_name": "SmolLM2 135M Instruct (bundled)",
        "tier": "haiku",
        "priority": 30,
        "context_window": 2_048,
        "input": "0",
        "output": "0",
    },
    {
        "provider": "anthropic",
        "model_key": "claude-haiku-3-5-20241022",
        "display_name": "Claude Haiku 3.5",
        "tier": "haiku",
        "priority": 10,
        "context_window": 200_000,
        "input": "0.80",
        "output": "4.00",
    },
    {
        "provider": "openai",
        "model_key": "gpt-4o-mini",
        "display_name": "GPT-4o mini",
        "tier": "haiku",
        "priority": 20,
        "context_window": 128_000,
        "input": "0.15",
        "output": "0.60",
    },
    {
        "provider": "google",
        "model_key": "gemini-2.0-flash",
        "display_name": "Gemini 2.0 Flash",
        "tier": "haiku",
        "priority": 30,
        "context_window": 1_048_576,
        "input": "0.10",
        "output": "0.40",
    },
    {
        "provider": "anthropic",
        "model_key": "claude-sonnet-4-20250514",
        "display_name": "Claude Sonnet 4",
        "tier": "sonnet",
        "priority": 10,
        "context_window": 200_000,
        "input": "3.00",
        "output": "15.00",
        "thinking": True,
    },
    {
        "provider": "anthropic",
        "model_key": "claude-opus-4-5-20251101",
        "display_name": "Claude Opus 4.5",
        "tier": "opus",
        "priority": 10,
        "context_window": 200_000,
        "input": "5.00",
        "output": "25.00",
        "thinking": True,
    },
]

PROVIDER_DEFAULTS = {
    "enabled": True,
    "timeout_ms": 30_000,
    "max_retries": 2,
    "retry_backoff_ms": 500,
}


def builtin_snapshot() -> RoutingSnapshot:
    """The seed's registry as a snapshot (version 0), for when no database answers."""
    providers = {p["key"]: ProviderSpec(**{**PROVIDER_DEFAULTS, **p}) for p in PROVIDERS}
    models = tuple(
        ModelSpec(
            provider_key=m["provider"],
            model_key=m["model_key"],
            display_name=m["display_name"],
            tier=m["tier"],
            status="active",
            priority=m["priority"],
            is_local=providers[m["provider"]].is_local,
            context_window=m["context_window"],
            input_price_per_mtok=float(m["input"]),
            output_price_per_mtok=float(m["output"]),
            supports_thinking=m.get("thinking", False),
        )
        for m in MODELS
    )
    doc = parse(ROUTING_FILE.read_text())
    rules = freeze_rules(
        doc.phase_overrides or [],
        doc.defaults or [],
        doc.purposes or [],
        doc.default_tier or "sonnet",
    )
    return RoutingSnapshot(
        version=0,
        providers=MappingProxyType(providers),
        models=models,
        rules=rules,
        rollouts=MappingProxyType({}),
        source="builtin",
    )
