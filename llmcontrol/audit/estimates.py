"""Reads the figures behind the savings estimate from the database, when it has them.

The only module of the audit that imports Django; the command imports it lazily. Every
query is allowed to fail (no database, tables not migrated yet, model not there yet):
the estimate then falls back to the stated defaults and says so.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

from django.db import DatabaseError, transaction
from django.utils import timezone

from llmcontrol.audit.report import Assumptions

RECENT = timedelta(days=30)
UNAVAILABLE = (ImportError, LookupError, DatabaseError)


def load_assumptions(calls_per_month: int) -> Assumptions:
    assumptions = Assumptions(calls_per_month=calls_per_month)
    tokens = _recorded_haiku_averages()
    if tokens is not None:
        count, input_tokens, output_tokens = tokens
        assumptions = dataclasses.replace(
            assumptions, input_tokens_per_call=input_tokens, output_tokens_per_call=output_tokens,
            tokens_source=f"recorded average of {count:,} haiku-tier requests "
                          f"in the last {RECENT.days} days",
        )
    price = _haiku_cloud_price()
    if price is not None:
        assumptions = dataclasses.replace(
            assumptions, input_price_per_mtok=price[0], output_price_per_mtok=price[1],
            price_source=f"registry model '{price[2]}' (the first active cloud haiku model)",
        )
    return assumptions


def _recorded_haiku_averages() -> tuple[int, int, int] | None:
    try:
        from django.db.models import Avg, Count

        from canary.models import RequestMetric

        # Failed attempts carry no tokens and would drag the averages down.
        rows = RequestMetric.objects.filter(
            tier="haiku", input_tokens__gt=0, created_at__gte=timezone.now() - RECENT)
        with transaction.atomic():  # a failed query must not poison an outer transaction
            found = rows.aggregate(count=Count("pk"), input=Avg("input_tokens"),
                                   output=Avg("output_tokens"))
    except UNAVAILABLE:
        return None
    if not found["count"]:
        return None
    return found["count"], round(found["input"]), round(found["output"] or 0)


def _haiku_cloud_price() -> tuple[Decimal, Decimal, str] | None:
    try:
        from registry.models import Model

        with transaction.atomic():
            model = (Model.objects.filter(tier="haiku", status="active",
                                          provider__is_local=False)
                     .select_related("provider").order_by("priority", "model_key").first())
    except UNAVAILABLE:
        return None
    if model is None:
        return None
    return (model.input_price_per_mtok, model.output_price_per_mtok,
            f"{model.provider.key}/{model.model_key}")
