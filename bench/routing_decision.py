"""The cost of one routing decision with a warm snapshot (the seed's registry, stage 25).

    .venv/bin/python bench/routing_decision.py
"""

from types import MappingProxyType

from _setup import measure, show

from llmcontrol.routing import RolloutSpec, RouteRequest, decide
from llmcontrol.switches import read_switches
from registry.defaults import builtin_snapshot

base = builtin_snapshot()
snapshot = type(base)(
    version=1, providers=base.providers, models=base.models, rules=base.rules,
    rollouts=MappingProxyType({"haiku": RolloutSpec("haiku", 25, "rolling")}), source="database",
)
cases = {
    "purpose=classification, routing key, local on (stage 25)":
        RouteRequest(purpose="classification", routing_key="user-1234", local_enabled=True),
    "phase+sub_agent rule, routing key": RouteRequest(phase="EXEC", sub_agent="QUICKFIX",
                                                     routing_key="conv-99", local_enabled=True),
    "default tier, no routing key (random bucket)": RouteRequest(),
    "explicit model": RouteRequest(model="claude-sonnet-4-20250514"),
}
for label, request in cases.items():
    show(f"decide(): {label}", measure(lambda r=request: decide(r, snapshot), repeat=200_000,
                                       warmup=1000))
show("read_switches() (env read at call time)", measure(read_switches, repeat=200_000, warmup=1000))
