"""/v1/...: the OpenAI-compatible gateway."""

from __future__ import annotations

from django.urls import path

from llmcontrol.gateway import views

app_name = "gateway"

urlpatterns = [
    path("chat/completions", views.chat_completions, name="chat-completions"),
    path("models", views.models, name="models"),
    path("models/<path:model_id>", views.models, name="model"),
    path("<path:rest>", views.not_found, name="not-found"),
]
