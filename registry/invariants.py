"""Registry invariants that span several rows.

"A tier with traffic keeps at least one active cloud model": a tier has traffic
when a routing rule points at it or it is the default tier. Every change that
could take a tier's last cloud model away (deactivating, re-tiering, moving it
to a local or disabled provider, deleting it, disabling its provider) checks
here first and is refused with a message naming the tier.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    from registry.models import Model, Provider

BUILTIN_DEFAULT_TIER = "sonnet"


def default_tier() -> str:
    from registry.models import RoutingRule, RuleKind

    rule = RoutingRule.objects.filter(kind=RuleKind.DEFAULT).only("tier").first()
    return rule.tier if rule else BUILTIN_DEFAULT_TIER


def tiers_with_traffic() -> set[str]:
    from registry.models import RoutingRule

    tiers = set(RoutingRule.objects.values_list("tier", flat=True).distinct())
    tiers.add(default_tier())
    return tiers


def _serving_cloud_elsewhere(
    tier: str, excluded_model_ids: Iterable[int] = (), excluded_provider_ids: Iterable[int] = ()
) -> bool:
    from registry.models import Model

    return (
        Model.objects.serving_cloud()
        .filter(tier=tier)
        .exclude(pk__in=list(excluded_model_ids))
        .exclude(provider_id__in=list(excluded_provider_ids))
        .exists()
    )


def _refuse_if_orphaned(tiers: Iterable[str], *, what: str, **excluded: Iterable[int]) -> None:
    busy = tiers_with_traffic()
    for tier in sorted(set(tiers) & busy):
        if not _serving_cloud_elsewhere(tier, **excluded):
            raise ValidationError(
                f"{what} would leave tier '{tier}' without an active cloud model, "
                f"and routing rules still send traffic to it."
            )


def _serves_cloud(model: Model) -> bool:
    provider = model.provider
    return model.status == "active" and provider.enabled and not provider.is_local


def check_model_change(model: Model) -> None:
    """Refuse a model edit that takes the last cloud model away from its old tier."""
    from registry.models import Model

    if not model.pk:
        return
    before = Model.objects.select_related("provider").get(pk=model.pk)
    still_serves_same_tier = _serves_cloud(model) and model.tier == before.tier
    if _serves_cloud(before) and not still_serves_same_tier:
        _refuse_if_orphaned(
            [before.tier], what=f"This change to {before.model_key}", excluded_model_ids=[model.pk]
        )


def check_models_leaving(models: Iterable[Model], *, what: str) -> None:
    """Refuse deactivating or deleting these models if a busy tier would lose its last
    cloud model."""
    models = list(models)
    tiers = {m.tier for m in models if _serves_cloud(m)}
    _refuse_if_orphaned(tiers, what=what, excluded_model_ids=[m.pk for m in models])


def check_provider_change(provider: Provider) -> None:
    from registry.models import Model, Provider

    before = Provider.objects.get(pk=provider.pk)
    was_serving = before.enabled and not before.is_local
    serves = provider.enabled and not provider.is_local
    if was_serving and not serves:
        tiers = Model.objects.active().filter(provider=provider).values_list("tier", flat=True)
        _refuse_if_orphaned(
            tiers,
            what=f"Disabling or localising {provider.key}",
            excluded_provider_ids=[provider.pk],
        )


def check_rule_target(tier: str) -> None:
    if not _serving_cloud_elsewhere(tier):
        raise ValidationError(
            {
                "tier": f"Tier '{tier}' has no active cloud model; "
                "add one before routing traffic to it."
            }
        )
