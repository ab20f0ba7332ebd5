"""What serving tokens locally saved: per day and in total, from the per-minute rollups.

Served locally means the tokens of the local attempts (a failed attempt records
no tokens; its fallback went to the cloud and is not counted). They are priced
twice: at the tier's baseline model's prices, what the cloud would have charged
for them, and at the local model's own registry prices (0, or an energy and
hardware estimate), what they cost. Saved is the difference.

The baseline of a tier is its rollout's baseline model; without one, the cloud
model routing would pick first for that tier (active, enabled provider, lowest
priority number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.db.models.functions import Trunc
from django.utils import timezone

from canary.actions import LOCAL_ELIGIBLE_TIERS
from canary.models import MetricRollup, Rollout, RoutedTo
from registry.models import Model

MILLION = Decimal(1_000_000)
CENT_FRACTION = Decimal("0.000001")  # money is kept to a millionth of a dollar
SINCE_PATTERN = re.compile(r"([1-9][0-9]*)([mhdw])")
SINCE_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_SINCE = timedelta(days=400)


class BadPeriod(ValueError):
    """A --since value that is not a duration like 7d."""


def parse_since(text: str) -> timedelta:
    """'90m', '24h', '7d' or '2w' as a timedelta (at most 400 days)."""
    match = SINCE_PATTERN.fullmatch(text.strip())
    if not match:
        raise BadPeriod(f"--since must be a duration like 30m, 24h, 7d or 2w, not {text!r}")
    period = timedelta(**{SINCE_UNITS[match[2]]: int(match[1])})
    if period > MAX_SINCE:
        raise BadPeriod(f"--since {text} is longer than the {MAX_SINCE.days} days rollups are kept")
    return period


@dataclass(frozen=True)
class Price:
    model: str  # provider/model_key
    input_per_mtok: Decimal
    output_per_mtok: Decimal

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / MILLION


@dataclass
class Line:
    """Tokens served locally over some period, and their price both ways."""

    input_tokens: int = 0
    output_tokens: int = 0
    cloud_cost: Decimal = Decimal(0)
    local_cost: Decimal = Decimal(0)

    @property
    def saved(self) -> Decimal:
        return self.cloud_cost - self.local_cost

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, other: Line) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cloud_cost += other.cloud_cost
        self.local_cost += other.local_cost

    def to_dict(self) -> dict[str, Any]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "tokens": self.tokens, "cloud_cost_usd": str(_money(self.cloud_cost)),
                "local_cost_usd": str(_money(self.local_cost)),
                "saved_usd": str(_money(self.saved))}


@dataclass
class Report:
    since: datetime
    until: datetime
    days: dict[date, Line] = field(default_factory=dict)
    tiers: dict[str, Line] = field(default_factory=dict)
    baselines: dict[str, Price | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> Line:
        total = Line()
        for line in self.days.values():
            total.add(line)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(), "until": self.until.isoformat(),
            "total": self.total.to_dict(),
            "days": [{"day": day.isoformat(), **line.to_dict()} for day, line in self.days.items()],
            "tiers": {tier: {**line.to_dict(), "baseline": _price_dict(self.baselines.get(tier))}
                      for tier, line in self.tiers.items()},
            "notes": self.notes,
        }


def savings(since: datetime, until: datetime | None = None,
            tiers: tuple[str, ...] | None = None) -> Report:
    """Savings of local serving over [since, until), per UTC day and per tier."""
    until = until or timezone.now()
    tiers = tiers or tuple(LOCAL_ELIGIBLE_TIERS)
    report = Report(since, until)
    rows = list(
        MetricRollup.objects
        # tier and routed_to first: the rollup_tier_arm_minute index, one range per tier.
        .filter(tier__in=tiers, routed_to=RoutedTo.LOCAL, minute__gte=since, minute__lt=until)
        .annotate(day=Trunc("minute", "day"))
        .values("day", "tier", "model")
        .annotate(input_tokens=Sum("input_tokens"), output_tokens=Sum("output_tokens"))
        .order_by("day", "tier", "model")
    )
    report.baselines = baseline_prices({row["tier"] for row in rows})
    local_prices = _local_prices({row["model"] for row in rows})
    for row in rows:
        tier, model = row["tier"], row["model"]
        line = Line(int(row["input_tokens"] or 0), int(row["output_tokens"] or 0))
        baseline = report.baselines.get(tier)
        if baseline is not None:
            line.cloud_cost = baseline.cost(line.input_tokens, line.output_tokens)
        local = local_prices.get(model)
        if local is not None:
            line.local_cost = local.cost(line.input_tokens, line.output_tokens)
        report.days.setdefault(row["day"].date(), Line()).add(line)
        report.tiers.setdefault(tier, Line()).add(line)
    for tier in sorted(report.tiers):
        if report.baselines.get(tier) is None:
            report.notes.append(f"{tier}: no cloud model to price the baseline at; counted as $0")
    for model in sorted({row["model"] for row in rows} - set(local_prices)):
        report.notes.append(f"local model {model} is not in the registry; its cost counted as $0")
    return report


def baseline_prices(tiers: set[str]) -> dict[str, Price | None]:
    """Each tier's baseline model and its prices (two queries whatever the tiers)."""
    prices: dict[str, Price | None] = {tier: None for tier in tiers}
    for rollout in Rollout.objects.filter(tier__in=tiers, baseline__isnull=False).select_related(
            "baseline__provider"):
        prices[rollout.tier] = _price(rollout.baseline)
    missing = [tier for tier, price in prices.items() if price is None]
    if missing:
        for model in (Model.objects.serving_cloud().filter(tier__in=missing)
                      .select_related("provider").order_by("tier", "priority", "model_key")):
            if prices[model.tier] is None:
                prices[model.tier] = _price(model)
    return prices


def _local_prices(model_keys: set[str]) -> dict[str, Price]:
    """Registry prices of local models by model key (rollups name the model, not the provider;
    the same key on two local providers takes the higher price)."""
    prices: dict[str, Price] = {}
    for model in (Model.objects.filter(model_key__in=model_keys, provider__is_local=True)
                  .select_related("provider")):
        price = _price(model)
        known = prices.get(model.model_key)
        if known is None or price.cost(1, 1) > known.cost(1, 1):
            prices[model.model_key] = price
    return prices


def _price(model: Model) -> Price:
    return Price(f"{model.provider.key}/{model.model_key}", model.input_price_per_mtok,
                 model.output_price_per_mtok)


def _price_dict(price: Price | None) -> dict[str, str] | None:
    if price is None:
        return None
    return {"model": price.model, "input_per_mtok_usd": str(price.input_per_mtok),
            "output_per_mtok_usd": str(price.output_per_mtok)}


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT_FRACTION)
