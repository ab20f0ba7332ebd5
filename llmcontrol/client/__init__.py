"""The llmcontrol client: the single entry point through which an application's LLM calls go.

    from llmcontrol.client import get_llm_client

    result = get_llm_client(purpose="classification").complete(
        "Answer with one label: bug, feature, refactor or docs.",
        "The export button does nothing when the list is empty.",
    )
    result.content, result.local, result.fallback, result.usage.output_tokens
"""

from __future__ import annotations

from typing import Any

from llmcontrol.client.backends import get_backend, set_backend
from llmcontrol.client.llm_client import LLMClient
from llmcontrol.client.results import LLMCallError, LLMResult
from llmcontrol.routing import RoutingError
from llmcontrol.switches import read_switches

__all__ = [
    "LLMCallError", "LLMClient", "LLMResult", "RoutingError", "get_classification_client",
    "get_fast_client", "get_llm_client", "get_routing_status", "get_security_client",
    "get_sub_agent_client", "get_validation_client", "is_local_llm_enabled",
    "refresh_model_registry", "set_backend",
]


def get_llm_client(purpose: str | None = None, sub_agent: str | None = None,
                   phase: str | None = None, provider: str | None = None,
                   model: str | None = None, allow_local: bool = True,
                   routing_key: str | None = None, tier: str | None = None) -> LLMClient:
    """A client for calls of this kind; routing is decided per call.

    `model` (a model key, or "provider/model") and `provider` force the choice,
    `tier` forces the tier; otherwise the tier comes from the routing rules. `routing_key` (a user,
    session or conversation id) keeps the same caller on the same side of a
    rollout; without it each call draws a random bucket.
    """
    return LLMClient(get_backend(), purpose=purpose, sub_agent=sub_agent, phase=phase,
                     provider=provider, model=model, allow_local=allow_local,
                     routing_key=routing_key, tier=tier)


def get_classification_client(**kwargs: Any) -> LLMClient:
    return get_llm_client(purpose="classification", **kwargs)


def get_fast_client(**kwargs: Any) -> LLMClient:
    return get_llm_client(purpose="fast", **kwargs)


def get_validation_client(**kwargs: Any) -> LLMClient:
    return get_llm_client(purpose="validation", **kwargs)


def get_security_client(**kwargs: Any) -> LLMClient:
    """Security work: opus tier, never local."""
    return get_llm_client(purpose="security", allow_local=False, **kwargs)


def get_sub_agent_client(code: str, phase: str | None = None, **kwargs: Any) -> LLMClient:
    return get_llm_client(sub_agent=code, phase=phase, **kwargs)


def is_local_llm_enabled() -> bool:
    """USE_LOCAL_LLM, read now (a bad value raises ConfigError naming it)."""
    return read_switches().use_local_llm


def refresh_model_registry() -> int:
    """Reload the registry snapshot now; returns its version."""
    return get_backend().refresh().version


def get_routing_status() -> dict[str, Any]:
    """What routing looks like right now: switches, snapshot, and each tier's split."""
    switches = read_switches()
    backend = get_backend()
    snapshot = backend.snapshot()
    tiers = {}
    for tier in ("haiku", "sonnet", "opus"):
        rollout = snapshot.rollouts.get(tier)
        local = snapshot.local_by_tier.get(tier, ())
        cloud = snapshot.cloud_by_tier.get(tier, ())
        stage = rollout.stage if rollout and switches.use_local_llm and local else 0
        tiers[tier] = {
            "stage": stage,
            "rollout_status": rollout.status if rollout else None,
            "local_models": [m.ref for m in local],
            "cloud_models": [m.ref for m in cloud],
            "local_share": stage / 100,
        }
    return {
        "mode": backend.name,
        "use_local_llm": switches.use_local_llm,
        "fallback_enabled": switches.ollama_fallback_enabled,
        "snapshot_version": snapshot.version,
        "snapshot_source": snapshot.source,
        "tiers": tiers,
    }
