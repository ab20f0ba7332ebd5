"""POST /api/v1/metrics: remote clients' metric batches; POST /api/v1/metric-losses: the
records a remote client had to drop."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from canary.models import MetricLoss
from llmcontrol.api.batches import store_batch
from llmcontrol.api.errors import BatchRejected
from llmcontrol.api.keys import Principal
from llmcontrol.api.serializers.metrics import (
    MetricBatchErrorSerializer,
    MetricBatchInputSerializer,
    MetricBatchOutputSerializer,
    MetricLossInputSerializer,
    MetricLossOutputSerializer,
)
from llmcontrol.client.metrics import MetricRecord


class MetricBatchView(APIView):
    throttle_scope = "metrics"

    @extend_schema(
        summary="Store a batch of metric records from a remote client",
        description="All or nothing: one bad record refuses the whole batch (400, naming the "
                    "record's index and the reason). A batch id already stored is answered "
                    "200 with duplicate=true and stored no second time.",
        request=MetricBatchInputSerializer,
        responses={201: MetricBatchOutputSerializer,
                   200: OpenApiResponse(MetricBatchOutputSerializer, description="A repeat"),
                   400: MetricBatchErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = MetricBatchInputSerializer(data=request.data)
        # Not raise_exception: the error names the first bad record rather than DRF's
        # list of one error object per record.
        if not serializer.is_valid():
            raise BatchRejected(serializer.errors)
        batch_id = serializer.validated_data["batch_id"]
        records = [MetricRecord(**r) for r in serializer.validated_data["records"]]
        principal: Principal = request.auth
        stored = store_batch(batch_id, records, api_key_id=principal.key_id,
                             source=f"remote:{principal.name}"[:64])
        duplicate = stored is None
        body = MetricBatchOutputSerializer(
            {"batch_id": batch_id, "stored": stored or 0, "duplicate": duplicate}).data
        return Response(body, status=status.HTTP_200_OK if duplicate else status.HTTP_201_CREATED)


class MetricLossView(APIView):
    throttle_scope = "metrics"

    @extend_schema(
        summary="Report metric records a remote client dropped",
        description="A remote client whose buffer (METRICS_MAX_BUFFER) overflowed while this "
                    "control plane was unreachable reports how many records it dropped and "
                    "when, once it can: a MetricLoss row (admin, control room, Prometheus) "
                    "with source remote:<key name>.",
        request=MetricLossInputSerializer,
        responses={201: MetricLossOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = MetricLossInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        principal: Principal = request.auth
        loss = MetricLoss.objects.create(source=f"remote:{principal.name}"[:64],
                                         **serializer.validated_data)
        return Response(MetricLossOutputSerializer(loss).data, status=status.HTTP_201_CREATED)
