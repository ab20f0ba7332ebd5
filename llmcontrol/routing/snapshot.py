"""The immutable routing snapshot: everything `decide()` needs, held in memory.

Built from the database by `registry.snapshot` (or from built-in defaults when
the database is unreachable at start, or from the control plane's routing-table
endpoint in remote mode). Nothing here imports Django or does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

TIERS = ("haiku", "sonnet", "opus")
NEVER_LOCAL_TIERS = frozenset({"opus"})
STAGE_SCALE = 100  # a request goes local when bucket < stage * STAGE_SCALE (bucket in 0..9999)


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    key: str
    name: str
    kind: str
    base_url: str
    api_key_env: str
    is_local: bool
    enabled: bool
    timeout_ms: int
    max_retries: int
    retry_backoff_ms: int


@dataclass(frozen=True, slots=True)
class ModelSpec:
    provider_key: str
    model_key: str
    display_name: str
    tier: str
    status: str
    priority: int
    is_local: bool
    context_window: int
    input_price_per_mtok: float
    output_price_per_mtok: float
    supports_json: bool = True
    supports_streaming: bool = True
    supports_thinking: bool = False

    @property
    def ref(self) -> str:
        return f"{self.provider_key}/{self.model_key}"


@dataclass(frozen=True, slots=True)
class RolloutSpec:
    tier: str
    stage: int
    status: str
    candidate: str | None = None  # ModelSpec.ref of the local candidate
    baseline: str | None = None  # ModelSpec.ref of the cloud baseline


@dataclass(frozen=True, slots=True)
class Rules:
    """Routing rules, keys case-folded. Precedence lives in `core.resolve_tier`."""

    phase: Mapping[tuple[str, str], str]
    sub_agent: Mapping[str, str]
    purpose: Mapping[str, str]
    default_tier: str


def freeze_rules(
    phase: Iterable[tuple[str, str, str]],
    sub_agent: Iterable[tuple[str, str]],
    purpose: Iterable[tuple[str, str]],
    default_tier: str,
) -> Rules:
    return Rules(
        phase=MappingProxyType({(p.casefold(), s.casefold()): t for p, s, t in phase}),
        sub_agent=MappingProxyType({s.casefold(): t for s, t in sub_agent}),
        purpose=MappingProxyType({p.casefold(): t for p, t in purpose}),
        default_tier=default_tier,
    )


@dataclass(frozen=True)
class RoutingSnapshot:
    version: int
    providers: Mapping[str, ProviderSpec]
    models: tuple[ModelSpec, ...]
    rules: Rules
    rollouts: Mapping[str, RolloutSpec]
    source: str  # "database", "builtin" or "remote"
    # Derived indices, computed once so that a decision is a few dict look-ups.
    by_ref: Mapping[str, ModelSpec] = field(init=False, repr=False)
    by_key: Mapping[str, tuple[ModelSpec, ...]] = field(init=False, repr=False)
    cloud_by_tier: Mapping[str, tuple[ModelSpec, ...]] = field(init=False, repr=False)
    local_by_tier: Mapping[str, tuple[ModelSpec, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        serving = [
            m
            for m in sorted(self.models, key=lambda m: (m.priority, m.model_key))
            if m.status == "active"
            and m.provider_key in self.providers
            and self.providers[m.provider_key].enabled
        ]
        by_key: dict[str, list[ModelSpec]] = {}
        for m in self.models:
            by_key.setdefault(m.model_key.casefold(), []).append(m)
        cloud: dict[str, tuple[ModelSpec, ...]] = {}
        local: dict[str, tuple[ModelSpec, ...]] = {}
        for tier in TIERS:
            cloud[tier] = tuple(m for m in serving if m.tier == tier and not m.is_local)
            local[tier] = tuple(
                m
                for m in serving
                if m.tier == tier and m.is_local and tier not in NEVER_LOCAL_TIERS
            )
        set_ = object.__setattr__
        set_(self, "by_ref", MappingProxyType({m.ref: m for m in self.models}))
        set_(self, "by_key", MappingProxyType({k: tuple(v) for k, v in by_key.items()}))
        set_(self, "cloud_by_tier", MappingProxyType(cloud))
        set_(self, "local_by_tier", MappingProxyType(local))

    def stage_for(self, tier: str) -> int:
        rollout = self.rollouts.get(tier)
        return rollout.stage if rollout else 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the remote client's routing table). Never holds a secret."""
        return {
            "version": self.version,
            "providers": [
                {
                    "key": p.key,
                    "name": p.name,
                    "kind": p.kind,
                    "base_url": p.base_url,
                    "api_key_env": p.api_key_env,
                    "is_local": p.is_local,
                    "enabled": p.enabled,
                    "timeout_ms": p.timeout_ms,
                    "max_retries": p.max_retries,
                    "retry_backoff_ms": p.retry_backoff_ms,
                }
                for p in self.providers.values()
            ],
            "models": [
                {
                    "provider": m.provider_key,
                    "model": m.model_key,
                    "display_name": m.display_name,
                    "tier": m.tier,
                    "status": m.status,
                    "priority": m.priority,
                    "is_local": m.is_local,
                    "context_window": m.context_window,
                    "input_price_per_mtok": m.input_price_per_mtok,
                    "output_price_per_mtok": m.output_price_per_mtok,
                    "supports_json": m.supports_json,
                    "supports_streaming": m.supports_streaming,
                    "supports_thinking": m.supports_thinking,
                }
                for m in self.models
            ],
            "rules": {
                "phase": [[p, s, t] for (p, s), t in self.rules.phase.items()],
                "sub_agent": dict(self.rules.sub_agent),
                "purpose": dict(self.rules.purpose),
                "default_tier": self.rules.default_tier,
            },
            "rollouts": [
                {
                    "tier": r.tier,
                    "stage": r.stage,
                    "status": r.status,
                    "candidate": r.candidate,
                    "baseline": r.baseline,
                }
                for r in self.rollouts.values()
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "remote") -> RoutingSnapshot:
        providers = {
            p["key"]: ProviderSpec(**{k: p[k] for k in ProviderSpec.__slots__})
            for p in data["providers"]
        }
        models = tuple(
            ModelSpec(
                provider_key=m["provider"],
                model_key=m["model"],
                display_name=m["display_name"],
                tier=m["tier"],
                status=m["status"],
                priority=m["priority"],
                is_local=m["is_local"],
                context_window=m["context_window"],
                input_price_per_mtok=float(m["input_price_per_mtok"]),
                output_price_per_mtok=float(m["output_price_per_mtok"]),
                supports_json=m["supports_json"],
                supports_streaming=m["supports_streaming"],
                supports_thinking=m["supports_thinking"],
            )
            for m in data["models"]
        )
        rules = data["rules"]
        return cls(
            version=int(data["version"]),
            providers=MappingProxyType(providers),
            models=models,
            rules=freeze_rules(
                [tuple(r) for r in rules["phase"]],  # type: ignore[misc]
                rules["sub_agent"].items(),
                rules["purpose"].items(),
                rules["default_tier"],
            ),
            rollouts=MappingProxyType({r["tier"]: RolloutSpec(**r) for r in data["rollouts"]}),
            source=source,
        )
