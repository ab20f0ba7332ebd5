"""Hand-built snapshots for the pure routing core: no database involved."""

from __future__ import annotations

from types import MappingProxyType

from llmcontrol.routing import ModelSpec, ProviderSpec, RolloutSpec, RoutingSnapshot, freeze_rules


def provider(key: str, *, local: bool, enabled: bool = True) -> ProviderSpec:
    return ProviderSpec(key=key, name=key, kind="ollama" if local else "anthropic",
                        base_url="http://127.0.0.1:1", api_key_env="" if local else "X_KEY",
                        is_local=local, enabled=enabled, timeout_ms=1000, max_retries=0,
                        retry_backoff_ms=10)


def model(provider_key: str, key: str, tier: str, *, local: bool, priority: int = 10,
          status: str = "active") -> ModelSpec:
    return ModelSpec(provider_key=provider_key, model_key=key, display_name=key, tier=tier,
                     status=status, priority=priority, is_local=local, context_window=8192,
                     input_price_per_mtok=0.0 if local else 1.0,
                     output_price_per_mtok=0.0 if local else 5.0)


def snapshot(*, stages: dict[str, int] | None = None, version: int = 7,
             extra_models: tuple[ModelSpec, ...] = ()) -> RoutingSnapshot:
    providers = {p.key: p for p in [provider("ollama", local=True), provider("cloud", local=False),
                                     provider("cloud2", local=False)]}
    models = (
        model("ollama", "qwen3-coder:30b", "haiku", local=True, priority=10),
        model("ollama", "llama3.2:3b", "haiku", local=True, priority=20),
        model("cloud", "claude-haiku", "haiku", local=False, priority=10),
        model("cloud2", "gpt-mini", "haiku", local=False, priority=20),
        model("cloud", "claude-sonnet", "sonnet", local=False),
        model("ollama", "big-local", "sonnet", local=True),
        model("cloud", "claude-opus", "opus", local=False),
        *extra_models,
    )
    rules = freeze_rules(
        phase=[("EXEC", "TESTING", "opus"), ("PLAN", "TESTING", "haiku")],
        sub_agent=[("TESTING", "sonnet"), ("QUICKFIX", "haiku")],
        purpose=[("classification", "haiku"), ("security", "opus"), ("generation", "sonnet")],
        default_tier="sonnet",
    )
    rollouts = {tier: RolloutSpec(tier=tier, stage=stage, status="rolling")
                for tier, stage in (stages or {}).items()}
    return RoutingSnapshot(version=version, providers=MappingProxyType(providers), models=models,
                           rules=rules, rollouts=MappingProxyType(rollouts), source="database")
