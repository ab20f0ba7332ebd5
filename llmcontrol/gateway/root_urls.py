"""The URLs a /v1/ request is resolved against: only the gateway's (no walk past the admin's)."""

from django.urls import include, path

urlpatterns = [path("v1/", include("llmcontrol.gateway.urls"))]
