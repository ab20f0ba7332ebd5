"""Read-only look-ups of rollout state for the routing snapshot."""

from __future__ import annotations

from llmcontrol.routing import RolloutSpec


def rollout_specs() -> dict[str, RolloutSpec]:
    """The rollout of each tier as the routing core sees it.

    Until the canary app has rollouts, every tier is at stage 0: all cloud,
    the seed's baseline.
    """
    return {}
