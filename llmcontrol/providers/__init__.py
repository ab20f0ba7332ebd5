"""Provider adapters: one interface over Ollama, OpenAI-compatible servers, Anthropic and Gemini.

Plain Python, no Django. `build_adapter(config)` picks the adapter for
`config.kind`; every adapter offers complete/stream and their async twins,
a free health check, and raises only ProviderError (classified by ErrorKind).
"""

from __future__ import annotations

from importlib import import_module
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


# Each kind's adapter, imported on first use so that importing the package does not import
# every SDK (the Anthropic SDK alone is about 1 s of CPU and 50 MiB).
ADAPTERS = {
    "ollama": ("llmcontrol.providers.ollama", "OllamaAdapter"),
    "openai": ("llmcontrol.providers.openai_compat", "OpenAICompatibleAdapter"),
    "openai_compatible": ("llmcontrol.providers.openai_compat", "OpenAICompatibleAdapter"),
    "anthropic": ("llmcontrol.providers.anthropic_sdk", "AnthropicAdapter"),
    "google": ("llmcontrol.providers.gemini", "GeminiAdapter"),
}


def adapter_class(kind: str) -> type[Adapter]:
    """The adapter class for a provider kind, importing its module (and SDK) if need be."""
    try:
        module, name = ADAPTERS[kind]
    except KeyError:
        raise ValueError(f"unknown provider kind {kind!r}; expected one of "
                         f"{', '.join(KINDS)}") from None
    return getattr(import_module(module), name)  # type: ignore[no-any-return]


def build_adapter(config: ProviderConfig, **tools: Any) -> Adapter:
    """The adapter for `config.kind`. `tools` (sleep, asleep, random) are for tests."""
    return adapter_class(config.kind)(config, **tools)


__all__ = [
    "ADAPTERS", "KINDS", "RETRYABLE", "Adapter", "ChatRequest", "Completion", "Done", "ErrorKind",
    "HealthReport", "Message", "ProviderConfig", "ProviderError", "ReasoningDelta",
    "StreamEvent", "TextDelta", "Usage", "build_adapter",
]
