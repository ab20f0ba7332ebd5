"""One adapter (one pooled HTTP connection set) per provider, rebuilt when its config changes.

Provider settings come from the snapshot and the environment at call time: a
rotated API key, a new OLLAMA_BASE_URL or an edited timeout gives a new config
and a new adapter on the next call; the old one is closed.
"""

from __future__ import annotations

import threading

from llmcontrol.providers import Adapter, ErrorKind, ProviderConfig, ProviderError, build_adapter
from llmcontrol.routing import ProviderSpec
from llmcontrol.switches import Switches, read_api_key

SEED_OLLAMA_PROVIDER = "ollama"  # the provider OLLAMA_BASE_URL points, as in the seed

_adapters: dict[str, tuple[ProviderConfig, Adapter]] = {}
_lock = threading.Lock()


def provider_config(provider: ProviderSpec, switches: Switches) -> ProviderConfig:
    base_url, timeout_ms = provider.base_url, provider.timeout_ms
    if provider.kind == "ollama":
        if switches.ollama_timeout_ms:
            timeout_ms = switches.ollama_timeout_ms
        if switches.ollama_base_url and provider.key == SEED_OLLAMA_PROVIDER:
            base_url = switches.ollama_base_url
    return ProviderConfig(
        key=provider.key,
        kind=provider.kind,
        base_url=base_url.rstrip("/"),
        api_key=read_api_key(provider.api_key_env),
        timeout_s=timeout_ms / 1000,
        max_retries=provider.max_retries,
        retry_backoff_s=provider.retry_backoff_ms / 1000,
        is_local=provider.is_local,
    )


def adapter_for(provider: ProviderSpec, switches: Switches, model: str) -> Adapter:
    """The adapter for this provider as configured right now.

    A cloud provider whose key variable is unset fails here, before any
    network traffic, with an error naming the variable (never a value).
    """
    config = provider_config(provider, switches)
    if provider.api_key_env and not config.api_key and not provider.is_local:
        raise ProviderError(
            ErrorKind.AUTH,
            f"environment variable {provider.api_key_env} is not set",
            provider=provider.key,
            model=model,
        )
    with _lock:
        current = _adapters.get(provider.key)
        if current and current[0] == config:
            return current[1]
        adapter = build_adapter(config)
        _adapters[provider.key] = (config, adapter)
    if current:
        current[1].close()
    return adapter


def close_all() -> None:
    with _lock:
        entries = list(_adapters.values())
        _adapters.clear()
    for _, adapter in entries:
        adapter.close()


async def aclose_all() -> None:
    """close_all() from the event loop: the adapters' clients of this loop are closed too."""
    with _lock:
        entries = list(_adapters.values())
        _adapters.clear()
    for _, adapter in entries:
        await adapter.aclose()
