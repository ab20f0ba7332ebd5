"""/api/v1/... and the OpenAPI schema (/api/schema/) with Swagger UI (/api/docs/)."""

from __future__ import annotations

from django.urls import include, path, register_converter
from django.urls.converters import StringConverter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from llmcontrol.api.views import registry, rollouts
from llmcontrol.api.views.metrics import MetricBatchView, MetricLossView
from llmcontrol.api.views.routing import RouteView, RoutingTableView


class NameConverter(StringConverter):
    """A path segment without control characters: a NUL would reach PostgreSQL (a 500)."""

    regex = r"[^/\x00-\x1f\x7f]+"


register_converter(NameConverter, "name")

app_name = "api"

READ_LIST = {"get": "list"}
READ_ONE = {"get": "retrieve"}

v1 = [
    path("route", RouteView.as_view(), name="route"),
    path("routing-table", RoutingTableView.as_view(), name="routing-table"),
    path("metrics", MetricBatchView.as_view(), name="metrics"),
    path("metric-losses", MetricLossView.as_view(), name="metric-losses"),
    path("rollouts/", rollouts.RolloutListView.as_view(), name="rollout-list"),
    path("rollouts/<name:tier>", rollouts.RolloutDetailView.as_view(), name="rollout-detail"),
    path("rollouts/<name:tier>/history", rollouts.RolloutHistoryView.as_view(),
         name="rollout-history"),
    path("rollouts/<name:tier>/advance", rollouts.AdvanceView.as_view(), name="rollout-advance"),
    path("rollouts/<name:tier>/set", rollouts.SetStageView.as_view(), name="rollout-set"),
    path("rollouts/<name:tier>/pause", rollouts.PauseView.as_view(), name="rollout-pause"),
    path("rollouts/<name:tier>/resume", rollouts.ResumeView.as_view(), name="rollout-resume"),
    path("rollouts/<name:tier>/rollback", rollouts.RollbackView.as_view(),
         name="rollout-rollback"),
    path("providers/", registry.ProviderViewSet.as_view(READ_LIST), name="provider-list"),
    path("providers/<name:key>", registry.ProviderViewSet.as_view(READ_ONE),
         name="provider-detail"),
    path("models/", registry.ModelViewSet.as_view(READ_LIST), name="model-list"),
    path("models/<int:pk>", registry.ModelViewSet.as_view(READ_ONE), name="model-detail"),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("v1/", include(v1)),
]
