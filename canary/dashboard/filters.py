"""Metrics browser filters whose choices never scan the metric table.

Django's default filter for a plain field lists its values with SELECT DISTINCT,
a full scan of a table with millions of rows; these take their choices from
the registry and the code instead.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from canary.models import DEFAULT_LADDER
from llmcontrol.providers.errors import ErrorKind
from registry.models import Model, Tier


class _ChoiceFilter(admin.SimpleListFilter):
    field: str

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset


class TierFilter(_ChoiceFilter):
    title = "tier"
    parameter_name = field = "tier"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, value) for value in Tier.values]


class ErrorTypeFilter(_ChoiceFilter):
    title = "error type"
    parameter_name = field = "error_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(kind.value, kind.value) for kind in ErrorKind]


class ModelFilter(_ChoiceFilter):
    title = "model"
    parameter_name = field = "model"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        keys = Model.objects.order_by("model_key").values_list("model_key", flat=True).distinct()
        return [(key, key) for key in keys]


class StageFilter(_ChoiceFilter):
    title = "stage"
    parameter_name = field = "stage"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(stage), f"{stage}%") for stage in DEFAULT_LADDER]


SINCE = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}


class SinceFilter(admin.SimpleListFilter):
    title = "time"
    parameter_name = "since"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1h", "last hour"), ("24h", "last 24 hours"), ("7d", "last 7 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        span = SINCE.get(self.value() or "")
        return queryset.filter(created_at__gte=timezone.now() - span) if span else queryset
