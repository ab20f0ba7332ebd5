"""Read-only look-ups of rollout state for the routing snapshot."""

from __future__ import annotations

from llmcontrol.routing import RolloutSpec


def rollout_specs() -> dict[str, RolloutSpec]:
    """The rollout of each tier as the routing core sees it (one query).

    A tier without a rollout is at stage 0: all cloud, the seed's baseline.
    """
    from canary.models import Rollout

    specs = {}
    for r in Rollout.objects.select_related("candidate__provider", "baseline__provider"):
        specs[r.tier] = RolloutSpec(
            tier=r.tier,
            stage=r.stage,
            status=r.status,
            candidate=f"{r.candidate.provider.key}/{r.candidate.model_key}"
            if r.candidate
            else None,
            baseline=f"{r.baseline.provider.key}/{r.baseline.model_key}" if r.baseline else None,
        )
    return specs
