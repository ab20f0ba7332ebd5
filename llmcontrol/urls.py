from django.contrib import admin
from django.urls import path

admin.site.site_header = "llmcontrol"
admin.site.site_title = "llmcontrol"
admin.site.index_title = "Model registry and rollouts"

urlpatterns = [
    path("admin/", admin.site.urls),
]
