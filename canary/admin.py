"""Rollouts, their transition log and the metric rows in the admin.

Stage and status are read-only here: they change only through `canary.actions`,
which the admin actions below call (with the stage/status the admin saw).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import ShowFacets
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import URLPattern, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html

from canary import actions
from canary.dashboard import filters
from canary.models import MetricLoss, ProviderHealth, RequestMetric, Rollout, Transition


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TransitionInline(admin.TabularInline):
    model = Transition
    fields = ("created_at", "from_stage", "to_stage", "from_status", "to_status", "reason",
              "actor", "forced", "note")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-created_at", "-pk")


@admin.register(Rollout)
class RolloutAdmin(admin.ModelAdmin):
    list_display = ("tier", "stage", "status", "candidate", "baseline", "auto_advance",
                    "last_verdict", "last_evaluated_at", "stage_entered_at", "control_room")
    list_select_related = ("candidate", "baseline")
    readonly_fields = ("tier", "stage", "status", "stage_entered_at", "last_evaluated_at",
                       "last_verdict", "last_evidence", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("tier", "stage", "status", "candidate", "baseline", "ladder",
                           "stage_entered_at")}),
        ("Gates", {"fields": ("error_rate_ceiling", "baseline_error_margin", "latency_multiplier",
                              "min_samples", "consecutive_failure_limit",
                              "json_invalid_ceiling", "think_leak_ceiling",
                              "empty_answer_ceiling")}),
        ("Automation", {"fields": ("auto_advance", "min_dwell_minutes")}),
        ("Last evaluation", {"fields": ("last_verdict", "last_evaluated_at", "last_evidence")}),
    )
    inlines = [TransitionInline]
    actions = ["pause_rollouts", "resume_rollouts", "rollback_rollouts"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        from canary.dashboard.urls import dashboard_urls

        return dashboard_urls(self) + super().get_urls()

    @admin.display(description="control room")
    def control_room(self, obj: Rollout) -> str:
        return format_html('<a href="{}">dashboard</a>',
                           reverse("admin:canary_dashboard_tier", args=[obj.tier]))

    def save_model(self, request: HttpRequest, obj: Rollout, form: Any, change: bool) -> None:
        # Settings only (stage and status are read-only); routing reads candidate/baseline.
        from registry.actions import bump_version

        super().save_model(request, obj, form, change)
        bump_version()

    @admin.action(description="Pause selected rollouts")
    def pause_rollouts(self, request: HttpRequest, queryset: QuerySet[Rollout]) -> None:
        self._act(request, queryset, actions.pause)

    @admin.action(description="Resume selected paused rollouts")
    def resume_rollouts(self, request: HttpRequest, queryset: QuerySet[Rollout]) -> None:
        self._act(request, queryset, actions.resume)

    @admin.action(description="Roll back selected rollouts to 0%% (all cloud)")
    def rollback_rollouts(self, request: HttpRequest, queryset: QuerySet[Rollout]) -> None:
        self._act(request, queryset, actions.rollback)

    def _act(self, request: HttpRequest, queryset: QuerySet[Rollout], action: Any) -> None:
        done = 0
        for rollout in queryset:
            try:
                action(rollout.tier, actor=request.user.get_username(),
                       expected=actions.Expected(rollout.stage, rollout.status))
                done += 1
            except actions.RolloutRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
        if done:
            self.message_user(request, f"{done} rollout(s) changed.", messages.SUCCESS)


@admin.register(Transition)
class TransitionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "rollout", "from_stage", "to_stage", "to_status", "reason",
                    "actor", "forced")
    list_filter = ("reason", "rollout__tier", "forced")
    list_select_related = ("rollout",)
    readonly_fields = ("rollout", "from_stage", "to_stage", "from_status", "to_status", "reason",
                       "actor", "note", "forced", "evidence", "created_at")


class FixedCountPaginator(Paginator):
    """No COUNT(*) over millions of rows: pages go forward as long as rows come back."""

    @cached_property
    def count(self) -> int:
        return 10_000_000


class MetricChangeList(ChangeList):
    """Newer/older links instead of page numbers (the count above is not a real one)."""

    @property
    def newer_page_url(self) -> str:
        return self.get_query_string({PAGE_VAR: self.page_num - 1}) if self.page_num > 1 else ""

    @property
    def older_page_url(self) -> str:
        full = len(self.result_list) == self.list_per_page
        return self.get_query_string({PAGE_VAR: self.page_num + 1}) if full else ""


@admin.register(RequestMetric)
class RequestMetricAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "tier", "routed_to", "provider", "model", "success",
                    "error_type", "latency_ms", "ttft_ms", "input_tokens", "output_tokens",
                    "stage")
    # Choices from code and the registry: a plain field filter would SELECT DISTINCT
    # over the whole table to list its values.
    list_filter = (filters.TierFilter, "routed_to", "success", filters.ErrorTypeFilter,
                   filters.ModelFilter, filters.StageFilter, filters.SinceFilter)
    search_fields = ("request_id",)
    search_help_text = "A request id: every attempt of that call."
    paginator = FixedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER  # facet counts are COUNT(*)s over millions of rows
    ordering = ("-created_at",)
    date_hierarchy = None

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return MetricChangeList

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[RequestMetric],
                           search_term: str) -> tuple[QuerySet[RequestMetric], bool]:
        # An exact match on the metric_request index. The admin's own search would be
        # UPPER(request_id) LIKE ..., a scan of the whole table.
        term = search_term.strip()
        return (queryset.filter(request_id=term) if term else queryset), False


@admin.register(ProviderHealth)
class ProviderHealthAdmin(ReadOnlyAdmin):
    list_display = ("provider", "ok", "detail", "latency_ms", "checked_at")
    list_select_related = ("provider",)


@admin.register(MetricLoss)
class MetricLossAdmin(ReadOnlyAdmin):
    list_display = ("reported_at", "source", "dropped", "first_dropped_at", "last_dropped_at",
                    "buffer_limit")
    list_filter = ("source",)
    search_fields = ("source",)
    date_hierarchy = "reported_at"
