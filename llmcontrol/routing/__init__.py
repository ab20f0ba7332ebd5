"""The routing core: pure, Django-free, I/O-free."""

from llmcontrol.routing.core import Decision, RouteRequest, RoutingError, bucket_for, decide
from llmcontrol.routing.snapshot import (
    ModelSpec,
    ProviderSpec,
    RolloutSpec,
    RoutingSnapshot,
    Rules,
    freeze_rules,
)

__all__ = [
    "Decision", "ModelSpec", "ProviderSpec", "RolloutSpec", "RouteRequest", "RoutingError",
    "RoutingSnapshot", "Rules", "bucket_for", "decide", "freeze_rules",
]
