from django.contrib import admin
from django.urls import include, path

from canary.prometheus import metrics_view
from llmcontrol.health import healthz

admin.site.site_header = "llmcontrol"
admin.site.site_title = "llmcontrol"
admin.site.index_title = "Model registry and rollouts"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("llmcontrol.api.urls")),
    path("v1/", include("llmcontrol.gateway.urls")),
    path("metrics", metrics_view, name="prometheus-metrics"),
    path("healthz", healthz, name="healthz"),
]
