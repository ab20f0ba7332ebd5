"""The control room's URLs, under the Rollout admin (/admin/canary/rollout/dashboard/...)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, path

from canary.dashboard.views import Dashboard


def dashboard_urls(model_admin: admin.ModelAdmin) -> list[URLPattern]:
    views = Dashboard(model_admin)
    wrap = model_admin.admin_site.admin_view
    return [
        path("dashboard/", wrap(views.overview), name="canary_dashboard"),
        path("dashboard/<str:tier>/", wrap(views.tier), name="canary_dashboard_tier"),
        path("dashboard/<str:tier>/<str:verb>/", wrap(views.act),
             name="canary_dashboard_action"),
    ]
