"""/api/v1/... and the OpenAPI schema (/api/schema/) with Swagger UI (/api/docs/)."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from llmcontrol.api.views import registry, rollouts
from llmcontrol.api.views.metrics import MetricBatchView
from llmcontrol.api.views.routing import RouteView, RoutingTableView

app_name = "api"

READ_LIST = {"get": "list"}
READ_ONE = {"get": "retrieve"}

v1 = [
    path("route", RouteView.as_view(), name="route"),
    path("routing-table", RoutingTableView.as_view(), name="routing-table"),
    path("metrics", MetricBatchView.as_view(), name="metrics"),
    path("rollouts/", rollouts.RolloutListView.as_view(), name="rollout-list"),
    path("rollouts/<str:tier>", rollouts.RolloutDetailView.as_view(), name="rollout-detail"),
    path("rollouts/<str:tier>/history", rollouts.RolloutHistoryView.as_view(),
         name="rollout-history"),
    path("rollouts/<str:tier>/advance", rollouts.AdvanceView.as_view(), name="rollout-advance"),
    path("rollouts/<str:tier>/set", rollouts.SetStageView.as_view(), name="rollout-set"),
    path("rollouts/<str:tier>/pause", rollouts.PauseView.as_view(), name="rollout-pause"),
    path("rollouts/<str:tier>/resume", rollouts.ResumeView.as_view(), name="rollout-resume"),
    path("rollouts/<str:tier>/rollback", rollouts.RollbackView.as_view(),
         name="rollout-rollback"),
    path("providers/", registry.ProviderViewSet.as_view(READ_LIST), name="provider-list"),
    path("providers/<str:key>", registry.ProviderViewSet.as_view(READ_ONE),
         name="provider-detail"),
    path("models/", registry.ModelViewSet.as_view(READ_LIST), name="model-list"),
    path("models/<int:pk>", registry.ModelViewSet.as_view(READ_ONE), name="model-detail"),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("v1/", include(v1)),
]
