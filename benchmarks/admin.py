"""Benchmarks in the admin: edit cases and thresholds, queue runs, read results and charts.

Runs and results are read-only; a run is started from "Add benchmark run", which
validates the request like the command does and queues it for the django-q2
cluster. The run's page shows its progress (refreshing itself while it runs),
its results, and its chart, downloadable as SVG or PNG with the JSON export.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from benchmarks import actions, charts
from benchmarks.exports import run_export
from benchmarks.models import (
    BenchmarkCall,
    BenchmarkCase,
    BenchmarkResult,
    BenchmarkRun,
    Category,
    RunStatus,
    VerdictPolicy,
)
from benchmarks.runner import CORE_CATEGORIES
from registry.models import Model


@admin.register(BenchmarkCase)
class BenchmarkCaseAdmin(admin.ModelAdmin):
    list_display = ("key", "category", "check_kind", "response", "max_tokens", "enabled",
                    "source", "updated_at")
    list_filter = ("category", "enabled", "response", "source")
    list_editable = ("enabled",)
    search_fields = ("key", "user_prompt", "note")
    readonly_fields = ("source", "updated_at")
    fields = ("key", "category", "enabled", "system_prompt", "user_prompt", "variants",
              "check_spec", "response", "max_tokens", "note", "source", "updated_at")
    actions = ["restore_from_files"]
    list_per_page = 200

    @admin.display(description="check", ordering="check_spec__kind")
    def check_kind(self, obj: BenchmarkCase) -> str:
        return str(obj.check_spec.get("kind", "?")) if isinstance(obj.check_spec, dict) else "?"

    @admin.action(description="Restore selected cases from the shipped suite files")
    def restore_from_files(self, request: HttpRequest, queryset: QuerySet[BenchmarkCase]) -> None:
        counts = actions.load_suites(update=True, keys=set(queryset.values_list("key", flat=True)))
        self.message_user(request, f"{counts['updated']} case(s) restored from their files; "
                                   "cases added in the admin have no file and were left as they "
                                   "are.", messages.SUCCESS)


@admin.register(VerdictPolicy)
class VerdictPolicyAdmin(admin.ModelAdmin):
    list_display = ("tier", "category_minimums", "min_json_valid_pct", "max_think_leak_pct",
                    "max_error_pct", "max_empty_or_truncated_pct", "p95_latency_budget_ms",
                    "min_generation_tps", "updated_at")


class QueueRunForm(forms.ModelForm):
    """What `manage.py benchmark` takes, as a form; validated by the same action."""

    models_to_run = forms.ModelMultipleChoiceField(
        label="models", queryset=Model.objects.select_related("provider"),
        widget=forms.CheckboxSelectMultiple)
    categories = forms.MultipleChoiceField(choices=Category.choices, initial=CORE_CATEGORIES,
                                           widget=forms.CheckboxSelectMultiple)
    compare_with = forms.ModelChoiceField(
        label="compare to", queryset=Model.objects.select_related("provider"), required=False,
        help_text="A baseline (e.g. the tier's cloud model) run alongside.")

    class Meta:
        model = BenchmarkRun
        fields = ("iterations", "timeout_s")

    def __init__(self, *args: Any, actor: str = "admin", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.run: BenchmarkRun | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        baseline = data.get("compare_with")
        try:
            self.run = actions.build_run(
                models=[f"{m.provider.key}/{m.model_key}" for m in data["models_to_run"]],
                tasks=data["categories"], iterations=data["iterations"],
                compare_to=f"{baseline.provider.key}/{baseline.model_key}" if baseline else "",
                timeout_s=data["timeout_s"], actor=self.actor, status=RunStatus.QUEUED)
        except actions.BenchmarkRefused as error:
            raise ValidationError(str(error)) from None
        return data


class ResultInline(admin.TabularInline):
    model = BenchmarkResult
    fields = ("model_ref", "tier", "verdict", "speed", "latency_p95_ms", "pass_rates",
              "json_valid_pct", "think_leak_pct", "empty_or_truncated_pct", "errors", "calls")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    @admin.display(description="tok/s")
    def speed(self, obj: BenchmarkResult) -> str:
        if obj.generation_tps is None:
            return "—"
        return f"{obj.generation_tps:.1f} ({obj.tps_source})"


@admin.register(BenchmarkRun)
class BenchmarkRunAdmin(admin.ModelAdmin):
    list_display = ("__str__", "created_at", "status", "progress", "model_list", "tasks",
                    "iterations", "actor")
    list_filter = ("status",)
    readonly_fields = ("status", "progress", "actor", "model_refs", "tasks", "iterations",
                       "compare_to", "timeout_s", "machine", "error", "created_at", "started_at",
                       "finished_at", "downloads")
    inlines = [ResultInline]

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if obj is not None:
            return super().get_form(request, obj, **kwargs)
        actor = request.user.get_username()

        class Form(QueueRunForm):
            def __init__(self, *args: Any, **form_kwargs: Any) -> None:
                super().__init__(*args, actor=actor, **form_kwargs)

        return Form

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [(None, {"fields": ("models_to_run", "categories", "iterations", "timeout_s",
                                       "compare_with")})]
        return super().get_fieldsets(request, obj)

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.inlines if obj is not None else []

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a run is a record: started here, never edited

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        return form.run  # built and validated by QueueRunForm.clean

    def save_model(self, request: HttpRequest, obj: BenchmarkRun, form: Any,
                   change: bool) -> None:
        actions.enqueue(obj)
        self.message_user(request, f"Benchmark run {obj.pk} queued: {obj.progress_total} calls. "
                                   "This page shows its progress.", messages.SUCCESS)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # a run has no related objects to save from the form

    def response_add(self, request: HttpRequest, obj: BenchmarkRun,
                     post_url_continue: str | None = None) -> Any:
        return redirect("admin:benchmarks_benchmarkrun_change", obj.pk)

    @admin.display(description="progress")
    def progress(self, obj: BenchmarkRun) -> str:
        text = f"{obj.progress_done} / {obj.progress_total} calls ({obj.progress_pct:.0f}%)"
        return f"{text} — {obj.current}" if obj.current else text

    @admin.display(description="models")
    def model_list(self, obj: BenchmarkRun) -> str:
        return ", ".join(obj.model_refs)

    @admin.display(description="chart and export")
    def downloads(self, obj: BenchmarkRun) -> str:
        if not obj.results.exists():
            return "No result yet."
        links = {fmt: reverse("admin:benchmarks_benchmarkrun_chart", args=[obj.pk, fmt])
                 for fmt in charts.FORMATS}
        export = reverse("admin:benchmarks_benchmarkrun_export", args=[obj.pk])
        return format_html(
            '<img src="{}" alt="chart of run {}" style="max-width:100%;background:#fff"><br>'
            'Download: <a href="{}">SVG</a> · <a href="{}">PNG</a> · <a href="{}">JSON</a>',
            links["svg"], obj.pk, links["svg"], links["png"], export)

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any,
                           **kwargs: Any) -> Any:
        obj = context.get("original")
        # The page reloads itself while the run is queued or running: that is the progress view.
        context["refresh_seconds"] = 3 if obj is not None and obj.status in (
            RunStatus.QUEUED, RunStatus.RUNNING) else None
        return super().render_change_form(request, context, *args, **kwargs)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/chart.<str:fmt>", view(self.chart_view),
                 name="benchmarks_benchmarkrun_chart"),
            path("<int:pk>/export.json", view(self.export_view),
                 name="benchmarks_benchmarkrun_export"),
            *super().get_urls(),
        ]

    def chart_view(self, request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if fmt not in charts.FORMATS:
            raise Http404(f"no chart format {fmt!r}")
        run = get_object_or_404(BenchmarkRun, pk=pk)
        response = HttpResponse(charts.render(run_export(run, calls=False), fmt),
                                content_type=charts.FORMATS[fmt])
        if request.GET.get("download") or fmt == "png":
            response["Content-Disposition"] = f'attachment; filename="benchmark-run-{pk}.{fmt}"'
        return response

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(BenchmarkRun, pk=pk)
        response = HttpResponse(json.dumps(run_export(run), indent=2),
                                content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="benchmark-run-{pk}.json"'
        return response


class CallInline(admin.TabularInline):
    model = BenchmarkCall
    fields = ("case_key", "category", "iteration", "passed", "reason", "error_kind", "answer",
              "latency_ms", "ttfat_ms", "output_tokens", "measured_tps", "server_tps",
              "think_leaked", "json_valid", "finish_reason")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(BenchmarkResult)
class BenchmarkResultAdmin(admin.ModelAdmin):
    list_display = ("model_ref", "run", "tier", "verdict", "generation_tps", "tps_source",
                    "latency_p95_ms", "json_valid_pct", "think_leak_pct", "errors", "created_at")
    list_filter = ("verdict", "tier", "is_local", "tps_source")
    list_select_related = ("run",)
    search_fields = ("model_ref",)
    inlines = [CallInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
