"""Provider adapters: one interface over Ollama, OpenAI-compatible servers, Anthropic and Gemini.

Plain Python, no Django. `build_adapter(config)` picks the adapter for
`config.kind`; every adapter offers complete/stream and their async twins,
a free health check, and raises only ProviderError (classified by ErrorKind).
"""

from __future__ import annotations

from typing import Any

from llmcontrol.providers.base import (
    RETRYABLE,
    Adapter,
    ChatRequest,
    Completion,
    Done,
    ErrorKind,
    HealthReport,
    Message,
    ProviderConfig,
    ProviderError,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Usage,
)

KINDS = ("ollama", "openai_compatible", "anthropic", "openai", "google")


def build_adapter(config: ProviderConfig, **tools: Any) -> Adapter:
    """The adapter for `config.kind`. `tools` (sleep, asleep, random) are for tests."""
    # Imported here so that importing the package does not import every SDK.
    if config.kind == "ollama":
        from llmcontrol.providers.ollama import OllamaAdapter

        return OllamaAdapter(config, **tools)
    if config.kind in ("openai", "openai_compatible"):
        from llmcontrol.providers.openai_compat import OpenAICompatibleAdapter

        return OpenAICompatibleAdapter(config, **tools)
    if config.kind == "anthropic":
        from llmcontrol.providers.anthropic_sdk import AnthropicAdapter

        return AnthropicAdapter(config, **tools)
    if config.kind == "google":
        from llmcontrol.providers.gemini import GeminiAdapter

        return GeminiAdapter(config, **tools)
    raise ValueError(f"unknown provider kind {config.kind!r}; expected one of {', '.join(KINDS)}")


__all__ = [
    "KINDS", "RETRYABLE", "Adapter", "ChatRequest", "Completion", "Done", "ErrorKind",
    "HealthReport", "Message", "ProviderConfig", "ProviderError", "ReasoningDelta",
    "StreamEvent", "TextDelta", "Usage", "build_adapter",
]
