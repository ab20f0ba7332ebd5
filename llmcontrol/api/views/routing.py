"""POST /api/v1/route (a decision, no completion) and GET /api/v1/routing-table."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from llmcontrol.api.errors import Misconfigured, Unroutable
from llmcontrol.api.serializers.routing import (
    DecisionOutputSerializer,
    RouteInputSerializer,
    RoutingTableOutputSerializer,
)
from llmcontrol.client import get_llm_client
from llmcontrol.routing import RoutingError, RoutingSnapshot
from llmcontrol.switches import ConfigError
from registry.snapshot import get_snapshot


class RouteView(APIView):
    throttle_scope = "route"

    @extend_schema(
        summary="Where would this call go?",
        description="The routing decision for a call described like `get_llm_client(...)`: "
                    "tier, provider, model, local or not, fallback chain and why. "
                    "Environment switches (USE_LOCAL_LLM, OLLAMA_MODEL) are read now. "
                    "No completion is made.",
        request=RouteInputSerializer,
        responses={200: DecisionOutputSerializer,
                   422: OpenApiResponse(description="No route: the message says what is missing.")},
    )
    def post(self, request: Request) -> Response:
        serializer = RouteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            decision = get_llm_client(**serializer.validated_data).decide()
        except RoutingError as exc:
            raise Unroutable(str(exc)) from None
        except ConfigError as exc:
            raise Misconfigured(str(exc)) from None
        return Response(DecisionOutputSerializer(decision).data)


class RoutingTableView(APIView):
    throttle_scope = "route"

    @extend_schema(
        summary="The routing table for remote clients",
        description="Everything a remote client needs to route by itself (no secret: providers "
                    "carry only the name of their key variable). Revalidate with If-None-Match: "
                    "304 while it has not changed.",
        parameters=[OpenApiParameter("If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                     required=False)],
        responses={200: RoutingTableOutputSerializer,
                   304: OpenApiResponse(description="Not modified")},
    )
    def get(self, request: Request) -> Response:
        etag, table = routing_table(get_snapshot())
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag_matches(request.headers.get("If-None-Match", ""), etag):
            return Response(status=304, headers=headers)
        return Response(table, headers=headers)


_table_lock = threading.Lock()
_table: tuple[RoutingSnapshot, str, dict[str, Any]] | None = None


def routing_table(snapshot: RoutingSnapshot) -> tuple[str, dict[str, Any]]:
    """(ETag, table) for a snapshot, computed once per snapshot.

    The ETag hashes the content, not the registry version: a process serving the
    built-in defaults (database down) and one serving version 0 must not agree.
    """
    global _table
    cached = _table
    if cached is not None and cached[0] is snapshot:
        return cached[1], cached[2]
    table = snapshot.to_dict()
    digest = hashlib.sha256(json.dumps(table, sort_keys=True).encode()).hexdigest()[:32]
    etag = f'"{digest}"'
    with _table_lock:
        _table = (snapshot, etag, table)
    return etag, table


def etag_matches(header: str, etag: str) -> bool:
    candidates = [c.strip() for c in header.split(",") if c.strip()]
    return any(c == "*" or c.removeprefix("W/") == etag for c in candidates)
