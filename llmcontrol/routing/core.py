"""The routing core: `decide(request, snapshot) -> Decision`.

Pure: no Django, no I/O, no clock. The client package, the gateway and the REST
route endpoint all call it; a decision is a handful of dict look-ups and one hash.

Tier precedence: explicit model > explicit tier > (phase, sub-agent) rule >
sub-agent default > purpose > default tier. Local eligibility: the switch
USE_LOCAL_LLM is on, the caller allows local, the tier is not opus, the tier has
an active local model, and the request's bucket falls under the tier's rollout
stage.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from llmcontrol.routing.snapshot import (
    NEVER_LOCAL_TIERS,
    STAGE_SCALE,
    TIERS,
    ModelSpec,
    ProviderSpec,
    RoutingSnapshot,
)

BUCKETS = 10_000


class RoutingError(LookupError):
    """No route can be chosen; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class RouteRequest:
    purpose: str | None = None
    sub_agent: str | None = None
    phase: str | None = None
    tier: str | None = None  # forces the tier (the gateway's "haiku"/"sonnet"/"opus" aliases)
    provider: str | None = None  # forces the provider
    model: str | None = None  # forces the model (a model key, or "provider/model")
    allow_local: bool = True
    routing_key: str | None = None
    local_enabled: bool = False  # the USE_LOCAL_LLM switch, read by the caller at call time
    preferred_local: str | None = None  # the OLLAMA_MODEL switch: local model key to prefer


@dataclass(frozen=True, slots=True)
class Decision:
    tier: str
    model: ModelSpec
    provider: ProviderSpec
    local: bool
    fallback: tuple[ModelSpec, ...]
    bucket: int
    stage: int
    rule: str  # which rule chose the tier: explicit, tier, phase, sub_agent, purpose, default
    reason: str
    snapshot_version: int


def bucket_for(routing_key: str | None) -> int:
    """A stable bucket in 0..9999 for a routing key; random when there is none.

    blake2b, not hash(): Python's str hash is salted per process, and every
    replica must put the same key in the same bucket.
    """
    if routing_key is None:
        return random.randrange(BUCKETS)
    digest = hashlib.blake2b(routing_key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def resolve_tier(request: RouteRequest, snapshot: RoutingSnapshot) -> tuple[str, str, str]:
    """(tier, rule kind, reason) from the routing rules, by precedence."""
    if request.tier:
        if request.tier not in TIERS:
            raise RoutingError(f"unknown tier {request.tier!r}; expected one of {', '.join(TIERS)}")
        return request.tier, "tier", f"tier {request.tier} requested"
    rules = snapshot.rules
    sub_agent = request.sub_agent.casefold() if request.sub_agent else None
    if sub_agent and request.phase:
        tier = rules.phase.get((request.phase.casefold(), sub_agent))
        if tier:
            return tier, "phase", f"phase {request.phase}/{request.sub_agent} → {tier}"
    if sub_agent:
        tier = rules.sub_agent.get(sub_agent)
        if tier:
            return tier, "sub_agent", f"sub-agent {request.sub_agent} → {tier}"
    if request.purpose:
        tier = rules.purpose.get(request.purpose.casefold())
        if tier:
            return tier, "purpose", f"purpose {request.purpose} → {tier}"
    return rules.default_tier, "default", f"default tier {rules.default_tier}"


def _explicit_model(request: RouteRequest, snapshot: RoutingSnapshot) -> ModelSpec:
    wanted = request.model or ""
    if wanted in snapshot.by_ref:
        candidates: tuple[ModelSpec, ...] = (snapshot.by_ref[wanted],)
    else:
        candidates = snapshot.by_key.get(wanted.casefold(), ())
    if request.provider:
        candidates = tuple(m for m in candidates if m.provider_key == request.provider)
    active = [m for m in candidates if m.status == "active" and _enabled(m, snapshot)]
    if not active:
        where = f" at provider {request.provider}" if request.provider else ""
        raise RoutingError(f"model {wanted!r}{where} is not an active model of an enabled provider")
    return min(active, key=lambda m: m.priority)


def _enabled(model: ModelSpec, snapshot: RoutingSnapshot) -> bool:
    provider = snapshot.providers.get(model.provider_key)
    return provider is not None and provider.enabled


def _first(models: tuple[ModelSpec, ...], preferred: str | None) -> ModelSpec | None:
    if preferred:
        for m in models:
            if m.ref == preferred:
                return m
    return models[0] if models else None


def decide(request: RouteRequest, snapshot: RoutingSnapshot) -> Decision:
    """Choose tier, model and provider for one call. Raises RoutingError when none fits."""
    bucket = bucket_for(request.routing_key)
    local_allowed = request.local_enabled and request.allow_local
    if request.model:
        return _decide_explicit(request, snapshot, bucket, local_allowed)

    tier, rule, reason = resolve_tier(request, snapshot)
    cloud = snapshot.cloud_by_tier.get(tier, ())
    local = snapshot.local_by_tier.get(tier, ())
    rollout = snapshot.rollouts.get(tier)
    stage = rollout.stage if rollout else 0
    if request.provider:
        cloud = tuple(m for m in cloud if m.provider_key == request.provider)
        local = tuple(m for m in local if m.provider_key == request.provider)
        reason += f"; provider forced to {request.provider}"
        if not cloud and not local:
            raise RoutingError(
                f"provider {request.provider!r} has no active model in tier {tier!r}"
            )

    goes_local = False
    if tier in NEVER_LOCAL_TIERS:
        reason += "; opus is never local"
    elif not request.local_enabled:
        reason += "; USE_LOCAL_LLM is off"
    elif not request.allow_local:
        reason += "; caller disallows local"
    elif not local:
        reason += "; no active local model"
    elif request.provider and not cloud:
        goes_local = True  # the caller forced a local provider
        reason += "; local provider forced"
    else:
        goes_local = bucket < stage * STAGE_SCALE
        side = "local" if goes_local else "cloud"
        sign = "<" if goes_local else ">="
        reason += f"; bucket {bucket} {sign} {stage * STAGE_SCALE} (stage {stage}%) → {side}"

    baseline = rollout.baseline if rollout else None
    if goes_local:
        chosen = _first(local, rollout.candidate if rollout else None)
        if not (rollout and rollout.candidate) and request.preferred_local:
            wanted = request.preferred_local.casefold()
            chosen = next((m for m in local if m.model_key.casefold() == wanted), chosen)
        fallback = _ordered(cloud or snapshot.cloud_by_tier.get(tier, ()), baseline)
    else:
        chosen = _first(cloud, baseline)
        if chosen is None:
            raise RoutingError(f"tier {tier!r} has no active cloud model of an enabled provider")
        fallback = tuple(m for m in cloud if m is not chosen)
    assert chosen is not None
    return Decision(
        tier=tier,
        model=chosen,
        provider=snapshot.providers[chosen.provider_key],
        local=goes_local,
        fallback=fallback,
        bucket=bucket,
        stage=stage,
        rule=rule,
        reason=reason,
        snapshot_version=snapshot.version,
    )


def _ordered(models: tuple[ModelSpec, ...], preferred: str | None) -> tuple[ModelSpec, ...]:
    first = _first(models, preferred)
    if first is None:
        return ()
    return (first, *(m for m in models if m is not first))


def _decide_explicit(
    request: RouteRequest, snapshot: RoutingSnapshot, bucket: int, local_allowed: bool
) -> Decision:
    model = _explicit_model(request, snapshot)
    tier = model.tier
    stage = snapshot.stage_for(tier)
    reason = f"explicit model {model.ref}"
    cloud = snapshot.cloud_by_tier.get(tier, ())
    if model.is_local and (not local_allowed or tier in NEVER_LOCAL_TIERS):
        why = "USE_LOCAL_LLM is off" if not request.local_enabled else "caller disallows local"
        if tier in NEVER_LOCAL_TIERS:
            why = "opus is never local"
        substitute = _first(cloud, None)
        if substitute is None:
            raise RoutingError(f"{reason} is local ({why}) and tier {tier!r} has no cloud model")
        reason += f" is local but {why}; served by {substitute.ref}"
        model = substitute
    fallback = tuple(m for m in cloud if m is not model) if model.is_local else ()
    return Decision(
        tier=tier,
        model=model,
        provider=snapshot.providers[model.provider_key],
        local=model.is_local,
        fallback=fallback,
        bucket=bucket,
        stage=stage,
        rule="explicit",
        reason=reason,
        snapshot_version=snapshot.version,
    )
