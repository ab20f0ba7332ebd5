"""The registry in the admin: the platform engineer's main screen.

Every save or delete here bumps the registry version inside the admin's own
transaction, so running processes pick the change up within a second.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models as db_models
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from benchmarks.selectors import verdict_link, with_latest_verdict
from registry import actions, invariants
from registry.models import ApiKey, Model, ModelStatus, Provider, RegistryState, RoutingRule


class BumpsRegistryVersion(admin.ModelAdmin):
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        actions.bump_version()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        actions.bump_version()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().delete_queryset(request, queryset)
        actions.bump_version()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if any(f.has_changed() for f in formsets):
            actions.bump_version()


class ModelInline(admin.TabularInline):
    model = Model
    extra = 0
    fields = ("model_key", "display_name", "tier", "status", "priority",
              "input_price_per_mtok", "output_price_per_mtok")
    show_change_link = True


@admin.register(Provider)
class ProviderAdmin(BumpsRegistryVersion):
    list_display = ("key", "name", "kind", "base_url", "is_local", "enabled", "api_key_env",
                    "active_models", "timeout_ms")
    list_filter = ("kind", "is_local", "enabled")
    search_fields = ("key", "name", "base_url")
    inlines = [ModelInline]
    # Local servers speak plain http; "localhost:11434" should not become https.
    formfield_overrides = {db_models.URLField: {"assume_scheme": "http"}}
    fieldsets = (
        (None, {"fields": ("key", "name", "kind", "base_url", "is_local", "enabled")}),
        ("Credentials", {
            "fields": ("api_key_env",),
            "description": "Only the <em>name</em> of the environment variable is stored. "
                           "The key itself stays in the environment and is never shown.",
        }),
        ("Timeouts and retries", {"fields": ("timeout_ms", "max_retries", "retry_backoff_ms")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Provider]:
        return super().get_queryset(request).annotate(
            active_model_count=Count("models", filter=Q(models__status=ModelStatus.ACTIVE))
        )

    @admin.display(description="active models", ordering="active_model_count")
    def active_models(self, obj: Provider) -> int:
        return obj.active_model_count  # type: ignore[attr-defined]


@admin.register(Model)
class ModelAdmin(BumpsRegistryVersion):
    list_display = ("model_key", "display_name", "provider", "tier", "status", "priority",
                    "local", "benchmark", "input_price_per_mtok", "output_price_per_mtok",
                    "context_window", "supports_json", "supports_streaming", "supports_thinking")
    list_filter = ("tier", "provider", "provider__is_local", "status")
    list_editable = ("priority",)
    list_select_related = ("provider",)
    search_fields = ("model_key", "display_name", "provider__key", "provider__name")
    actions = ["activate", "deactivate"]
    fieldsets = (
        (None, {"fields": ("provider", "model_key", "display_name", "tier", "status", "priority")}),
        ("Limits and prices", {"fields": ("context_window", "input_price_per_mtok",
                                          "output_price_per_mtok")}),
        ("Capabilities", {"fields": ("supports_json", "supports_streaming", "supports_thinking")}),
        ("Latest benchmark", {"fields": ("benchmark",)}),
    )
    readonly_fields = ("benchmark",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Model]:
        return with_latest_verdict(super().get_queryset(request))

    @admin.display(description="local", boolean=True, ordering="provider__is_local")
    def local(self, obj: Model) -> bool:
        return obj.provider.is_local

    @admin.display(description="benchmark verdict", ordering="benchmark_verdict")
    def benchmark(self, obj: Model) -> str:
        return verdict_link(obj)

    @admin.action(description="Activate selected models")
    def activate(self, request: HttpRequest, queryset: QuerySet[Model]) -> None:
        self._set_status(request, queryset, ModelStatus.ACTIVE)

    @admin.action(description="Deactivate selected models")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Model]) -> None:
        self._set_status(request, queryset, ModelStatus.INACTIVE)

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Model], status: str) -> None:
        selected = list(queryset.select_related("provider"))
        try:
            count = actions.set_models_status(queryset, status)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        for obj in selected:
            if obj.status != status:
                self.log_change(request, obj, [{"changed": {"fields": ["status"]}}])
        self.message_user(request, f"{count} model(s) set {status}; "
                                   f"{len(selected) - count} already were.", messages.SUCCESS)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # Django refuses a deletion that lists "protected" objects and shows them on the
        # confirmation page: the natural place to say which invariant forbids it.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        try:
            invariants.check_models_leaving(
                list(Model.objects.filter(pk__in=[o.pk for o in objs]).select_related("provider")),
                what="This deletion",
            )
        except ValidationError as exc:
            protected = [*protected, *exc.messages]
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        actions.delete_models([obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Model]) -> None:
        actions.delete_models(queryset.select_related("provider"))


@admin.register(RoutingRule)
class RoutingRuleAdmin(BumpsRegistryVersion):
    list_display = ("describe_match", "kind", "phase", "sub_agent", "purpose", "tier", "note")
    list_display_links = ("describe_match",)
    list_editable = ("tier",)
    list_filter = ("kind", "tier", "phase")
    search_fields = ("phase", "sub_agent", "purpose", "note")
    fields = ("phase", "sub_agent", "purpose", "tier", "note")
    list_per_page = 200

    @admin.display(description="match")
    def describe_match(self, obj: RoutingRule) -> str:
        return obj.describe_match()


@admin.register(RegistryState)
class RegistryStateAdmin(admin.ModelAdmin):
    list_display = ("version", "changed_at")
    readonly_fields = ("version", "changed_at", "routing_document")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys for the API, the gateway and remote clients. The key itself is shown once,
    on the page after "Save"; only its hash is stored."""

    list_display = ("name", "prefix", "scope", "active", "created_at", "last_used_at",
                    "revoked_at")
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix")
    fields = ("name", "scope", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke_keys"]

    @admin.display(description="active", boolean=True)
    def active(self, obj: ApiKey) -> bool:
        return obj.is_active

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if not change:
            # On the object, not on this admin: one ModelAdmin serves every request.
            obj.issued_key = obj.issue()  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(self, request: HttpRequest, obj: ApiKey,
                     post_url_continue: str | None = None) -> Any:
        # Rendered here, not put in a message: messages may be stored in a cookie.
        context = {**self.admin_site.each_context(request), "key": obj,
                   "raw": obj.issued_key,  # type: ignore[attr-defined]
                   "opts": self.model._meta, "title": f"API key for {obj.name}"}
        return TemplateResponse(request, "admin/registry/apikey/issued.html", context)

    @admin.action(description="Revoke selected API keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.revoke()
        self.message_user(request, f"{count} API key(s) revoked.", messages.SUCCESS)
