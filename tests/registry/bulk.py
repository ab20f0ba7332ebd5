"""Bulk registry content for size tests and the snapshot benchmark."""

from __future__ import annotations

from decimal import Decimal

from registry.models import Model, Provider, RoutingRule, RuleKind

TIERS = ("haiku", "sonnet", "opus")


def add_models_and_rules(models: int, rules: int) -> None:
    providers = [
        Provider.objects.create(key=f"bulk-{i}", name=f"Bulk {i}", kind="openai_compatible",
                                base_url=f"http://127.0.0.1:{9000 + i}", is_local=i % 2 == 0)
        for i in range(10)
    ]
    Model.objects.bulk_create([
        Model(provider=providers[i % 10], model_key=f"bulk-model-{i}", display_name=f"m{i}",
              tier="haiku" if providers[i % 10].is_local else TIERS[i % 3], priority=100 + i,
              input_price_per_mtok=Decimal("0.5"), output_price_per_mtok=Decimal("1.5"))
        for i in range(models)
    ])
    RoutingRule.objects.bulk_create([
        RoutingRule(kind=RuleKind.PHASE, phase=f"P{i % 20}", sub_agent=f"BULK{i}",
                    tier=TIERS[i % 3], position=1000 + i)
        for i in range(rules)
    ])
