"""GET /api/v1/providers/ and /api/v1/models/: the registry, read-only, without secrets."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.serializers import BaseSerializer

from llmcontrol.api.serializers.registry import (
    ModelFilterSerializer,
    ModelOutputSerializer,
    ProviderOutputSerializer,
)
from registry.models import Model, Provider


class ProviderViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Provider.objects.all()
    serializer_class = ProviderOutputSerializer
    lookup_field = "key"
    throttle_scope = "read"


@extend_schema_view(list=extend_schema(parameters=[ModelFilterSerializer]))
class ModelViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ModelOutputSerializer
    throttle_scope = "read"

    def get_queryset(self) -> QuerySet[Model]:
        models = Model.objects.select_related("provider")
        if self.action != "list":
            return models
        query: BaseSerializer = ModelFilterSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        if "provider" in filters:
            models = models.filter(provider__key=filters["provider"])
        if "tier" in filters:
            models = models.filter(tier=filters["tier"])
        if "status" in filters:
            models = models.filter(status=filters["status"])
        return models
