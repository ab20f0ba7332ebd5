"""Every registry change that is more than one admin form save lives here.

Each function runs in one transaction and bumps the registry version in it, so
a process that sees the new version also sees the change, and a refused change
(a ValidationError) leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import F, QuerySet

from llmcontrol.routing.document import RoutingDocument, render
from registry import invariants
from registry.defaults import MODELS, PROVIDER_DEFAULTS, PROVIDERS, ROUTING_FILE
from registry.models import Model, ModelStatus, Provider, RegistryState, RoutingRule, RuleKind


def bump_version() -> int:
    """Move the registry version on; call inside the transaction that made the change."""
    state, _ = RegistryState.objects.get_or_create(pk=1)
    RegistryState.objects.filter(pk=state.pk).update(version=F("version") + 1)
    return RegistryState.objects.values_list("version", flat=True).get(pk=state.pk)


def current_version() -> int:
    version = RegistryState.objects.filter(pk=1).values_list("version", flat=True).first()
    return version or 0


@transaction.atomic
def set_models_status(models: QuerySet[Model], status: str) -> int:
    """Activate or deactivate models.

    Refused whole if a busy tier would lose its last cloud model."""
    targets = list(models.select_related("provider").exclude(status=status))
    if status != ModelStatus.ACTIVE:
        invariants.check_models_leaving(targets, what=f"Setting {len(targets)} model(s) {status}")
    count = Model.objects.filter(pk__in=[m.pk for m in targets]).update(status=status)
    if count:
        bump_version()
    return count


@transaction.atomic
def delete_models(models: Iterable[Model]) -> int:
    models = list(models)
    invariants.check_models_leaving(models, what=f"Deleting {len(models)} model(s)")
    count, _ = Model.objects.filter(pk__in=[m.pk for m in models]).delete()
    bump_version()
    return count


@transaction.atomic
def import_routing(doc: RoutingDocument) -> dict[str, int]:
    """Replace the rules of each section present in `doc`; all or nothing.

    Refused (ValidationError, nothing written) when a rule would send traffic to
    a tier without an active cloud model.
    """
    for tier in _tiers_in(doc):
        invariants.check_rule_target(tier)
    counts: dict[str, int] = {}
    if doc.phase_overrides is not None:
        counts["phaseOverrides"] = _replace(
            RuleKind.PHASE,
            [
                RoutingRule(phase=p, sub_agent=a, tier=t, position=i)
                for i, (p, a, t) in enumerate(doc.phase_overrides)
            ],
        )
    if doc.defaults is not None:
        counts["defaults"] = _replace(
            RuleKind.SUB_AGENT,
            [RoutingRule(sub_agent=a, tier=t, position=i) for i, (a, t) in enumerate(doc.defaults)],
        )
    if doc.purposes is not None:
        counts["purposes"] = _replace(
            RuleKind.PURPOSE,
            [RoutingRule(purpose=p, tier=t, position=i) for i, (p, t) in enumerate(doc.purposes)],
        )
    if doc.default_tier is not None:
        counts["defaultTier"] = _replace(RuleKind.DEFAULT, [RoutingRule(tier=doc.default_tier)])
    state, _ = RegistryState.objects.select_for_update().get_or_create(pk=1)
    state.routing_document = {"key_order": doc.key_order, "extras": doc.extras}
    state.save(update_fields=["routing_document", "changed_at"])
    bump_version()
    return counts


def _tiers_in(doc: RoutingDocument) -> set[str]:
    tiers = {t for *_, t in doc.phase_overrides or []}
    tiers |= {t for _, t in doc.defaults or []} | {t for _, t in doc.purposes or []}
    if doc.default_tier:
        tiers.add(doc.default_tier)
    return tiers


def _replace(kind: str, rules: list[RoutingRule]) -> int:
    RoutingRule.objects.filter(kind=kind).delete()
    for rule in rules:
        rule.kind = kind
    RoutingRule.objects.bulk_create(rules)
    return len(rules)


def export_routing(*, all_sections: bool = False) -> str:
    """The rules as the seed's JSON, shaped like the last imported file."""
    state = RegistryState.objects.filter(pk=1).first()
    saved = state.routing_document if state else {}
    key_order = list(saved.get("key_order") or [])
    wanted = set(key_order) if key_order and not all_sections else None
    rules = list(RoutingRule.objects.order_by("position", "pk"))

    def section(name: str, kind: str) -> list[RoutingRule] | None:
        return [r for r in rules if r.kind == kind] if wanted is None or name in wanted else None

    phase, defaults = (
        section("phaseOverrides", RuleKind.PHASE),
        section("defaults", RuleKind.SUB_AGENT),
    )
    purposes, default = (
        section("purposes", RuleKind.PURPOSE),
        section("defaultTier", RuleKind.DEFAULT),
    )
    doc = RoutingDocument(
        phase_overrides=None if phase is None else [(r.phase, r.sub_agent, r.tier) for r in phase],
        defaults=None if defaults is None else [(r.sub_agent, r.tier) for r in defaults],
        purposes=None if purposes is None else [(r.purpose, r.tier) for r in purposes],
        default_tier=default[0].tier if default else None,
        extras=dict(saved.get("extras") or {}),
        key_order=key_order,
    )
    return render(doc)


@transaction.atomic
def seed_defaults() -> dict[str, int]:
    """Create the seed's providers, models and rules where missing; never overwrite edits."""
    from llmcontrol.routing.document import parse

    created = {"providers": 0, "models": 0, "rules": 0}
    providers = {}
    for spec in PROVIDERS:
        provider, made = Provider.objects.get_or_create(
            key=spec["key"], defaults={**PROVIDER_DEFAULTS, **spec}
        )
        providers[provider.key] = provider
        created["providers"] += made
    for spec in MODELS:
        _, made = Model.objects.get_or_create(
            provider=providers[spec["provider"]],
            model_key=spec["model_key"],
            defaults={
                "display_name": spec["display_name"],
                "tier": spec["tier"],
                "priority": spec["priority"],
                "context_window": spec["context_window"],
                "input_price_per_mtok": Decimal(spec["input"]),
                "output_price_per_mtok": Decimal(spec["output"]),
                "supports_thinking": spec.get("thinking", False),
            },
        )
        created["models"] += made
    if not RoutingRule.objects.exists():
        counts = import_routing(parse(ROUTING_FILE.read_text()))
        created["rules"] = sum(counts.values())
    if any(created.values()):
        bump_version()
    return created
