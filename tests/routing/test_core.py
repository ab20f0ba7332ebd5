"""The routing core's rules, one by one, on hand-built snapshots."""

import pytest

from llmcontrol.routing import RouteRequest, RoutingError, bucket_for, decide
from tests.routing.factories import snapshot


@pytest.mark.parametrize(
    "request_, tier, rule",
    [
        (
            RouteRequest(phase="EXEC", sub_agent="TESTING", purpose="classification"),
            "opus",
            "phase",
        ),
        (RouteRequest(phase="plan", sub_agent="testing"), "haiku", "phase"),  # case-insensitive
        (
            RouteRequest(phase="LEAD", sub_agent="TESTING", purpose="classification"),
            "sonnet",
            "sub_agent",
        ),
        (RouteRequest(sub_agent="QUICKFIX", purpose="security"), "haiku", "sub_agent"),
        (RouteRequest(sub_agent="UNKNOWN", purpose="security"), "opus", "purpose"),
        (RouteRequest(purpose="Classification"), "haiku", "purpose"),
        (RouteRequest(purpose="unknown-purpose"), "sonnet", "default"),
        (RouteRequest(), "sonnet", "default"),
        (RouteRequest(phase="EXEC"), "sonnet", "default"),  # a phase alone matches nothing
    ],
)
def test_tier_precedence(request_: RouteRequest, tier: str, rule: str) -> None:
    decision = decide(request_, snapshot())
    assert (decision.tier, decision.rule) == (tier, rule)


def test_explicit_model_beats_every_rule() -> None:
    decision = decide(
        RouteRequest(model="claude-opus", phase="PLAN", sub_agent="TESTING"), snapshot()
    )
    assert (decision.tier, decision.model.ref, decision.rule) == (
        "opus",
        "cloud/claude-opus",
        "explicit",
    )
    assert decision.fallback == ()


def test_explicit_model_by_provider_and_key() -> None:
    decision = decide(RouteRequest(model="cloud2/gpt-mini"), snapshot())
    assert decision.model.ref == "cloud2/gpt-mini"


def test_unknown_explicit_model_is_a_clear_error() -> None:
    with pytest.raises(RoutingError, match="model 'nope' is not an active model"):
        decide(RouteRequest(model="nope"), snapshot())


def test_explicit_local_model_goes_local_when_allowed_with_cloud_fallback() -> None:
    decision = decide(RouteRequest(model="qwen3-coder:30b", local_enabled=True), snapshot())
    assert decision.local is True
    assert [m.ref for m in decision.fallback] == ["cloud/claude-haiku", "cloud2/gpt-mini"]


def test_explicit_local_model_with_local_switched_off_is_served_by_cloud() -> None:
    decision = decide(RouteRequest(model="qwen3-coder:30b", local_enabled=False), snapshot())
    assert decision.local is False
    assert decision.model.ref == "cloud/claude-haiku"
    assert "USE_LOCAL_LLM is off" in decision.reason


def test_stage_zero_is_all_cloud_even_with_local_enabled() -> None:
    decision = decide(
        RouteRequest(purpose="classification", local_enabled=True, routing_key="k"), snapshot()
    )
    assert decision.local is False
    assert decision.stage == 0
    assert decision.model.ref == "cloud/claude-haiku"
    assert [m.ref for m in decision.fallback] == ["cloud2/gpt-mini"]


def test_stage_100_is_all_local_with_the_cloud_as_fallback() -> None:
    decision = decide(
        RouteRequest(purpose="classification", local_enabled=True), snapshot(stages={"haiku": 100})
    )
    assert decision.local is True
    assert decision.model.ref == "ollama/qwen3-coder:30b"
    assert [m.ref for m in decision.fallback] == ["cloud/claude-haiku", "cloud2/gpt-mini"]
    assert "stage 100%" in decision.reason


def test_preferred_local_model_from_the_ollama_model_switch() -> None:
    decision = decide(
        RouteRequest(purpose="classification", local_enabled=True, preferred_local="llama3.2:3b"),
        snapshot(stages={"haiku": 100}),
    )
    assert decision.model.ref == "ollama/llama3.2:3b"


@pytest.mark.parametrize(
    "kwargs, why",
    [
        ({"local_enabled": False}, "USE_LOCAL_LLM is off"),
        ({"local_enabled": True, "allow_local": False}, "caller disallows local"),
    ],
)
def test_local_switches_keep_traffic_in_the_cloud(kwargs: dict, why: str) -> None:
    decision = decide(
        RouteRequest(purpose="classification", **kwargs), snapshot(stages={"haiku": 100})
    )
    assert decision.local is False
    assert why in decision.reason


def test_opus_is_never_local_even_at_stage_100_with_a_local_opus_model() -> None:
    from tests.routing.factories import model

    rogue = model("ollama", "local-opus", "opus", local=True)
    snap = snapshot(stages={"opus": 100}, extra_models=(rogue,))
    decision = decide(RouteRequest(purpose="security", local_enabled=True), snap)
    assert decision.local is False
    assert "opus is never local" in decision.reason


def test_bucket_is_stable_and_in_range() -> None:
    assert bucket_for("user-42") == bucket_for("user-42")
    assert all(0 <= bucket_for(f"k{i}") < 10_000 for i in range(1000))
    assert 0 <= bucket_for(None) < 10_000


def test_decision_reports_bucket_stage_and_snapshot_version() -> None:
    snap = snapshot(stages={"haiku": 25}, version=42)
    decision = decide(
        RouteRequest(
            purpose="triage-unknown", sub_agent="QUICKFIX", local_enabled=True, routing_key="abc"
        ),
        snap,
    )
    assert decision.bucket == bucket_for("abc")
    assert decision.stage == 25
    assert decision.snapshot_version == 42
    assert decision.local is (decision.bucket < 2500)


def test_forced_provider_restricts_the_choice() -> None:
    decision = decide(RouteRequest(purpose="classification", provider="cloud2"), snapshot())
    assert decision.model.ref == "cloud2/gpt-mini"
    with pytest.raises(RoutingError, match="provider 'nobody' has no active model in tier 'haiku'"):
        decide(RouteRequest(purpose="classification", provider="nobody"), snapshot())


def test_tier_without_cloud_model_is_a_routing_error() -> None:
    from tests.routing.factories import model

    snap = snapshot()
    only_local = tuple(m for m in snap.models if m.tier != "sonnet") + (
        model("ollama", "big-local", "sonnet", local=True),
    )
    from types import MappingProxyType

    from llmcontrol.routing import RoutingSnapshot

    broken = RoutingSnapshot(
        version=1,
        providers=snap.providers,
        models=only_local,
        rules=snap.rules,
        rollouts=MappingProxyType({}),
        source="database",
    )
    with pytest.raises(RoutingError, match="tier 'sonnet' has no active cloud model"):
        decide(RouteRequest(purpose="generation"), broken)
