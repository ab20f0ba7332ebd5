"""Rollouts: read them, and act on them through `canary.actions` (admin scope).

The same functions, refusals and messages as `manage.py canary`: a refusal is a
409 whose detail is the command's one-line reason.
"""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from canary import actions
from canary.models import Rollout, Transition, TransitionReason
from llmcontrol.api.errors import Conflict
from llmcontrol.api.keys import Principal
from llmcontrol.api.permissions import HasAdminScope
from llmcontrol.api.serializers.rollouts import (
    ActionOutputSerializer,
    ForceableActionInputSerializer,
    HistoryQuerySerializer,
    RolloutActionInputSerializer,
    RolloutOutputSerializer,
    SetStageInputSerializer,
    TransitionOutputSerializer,
)


def get_rollout(tier: str) -> Rollout:
    try:
        return Rollout.objects.select_related("candidate__provider",
                                              "baseline__provider").get(tier=tier)
    except Rollout.DoesNotExist:
        raise NotFound(f"no rollout for tier {tier!r}") from None


class RolloutListView(APIView):
    throttle_scope = "read"

    @extend_schema(summary="Every rollout", responses=RolloutOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        rollouts = Rollout.objects.select_related("candidate__provider", "baseline__provider")
        return Response(RolloutOutputSerializer(rollouts, many=True).data)


class RolloutDetailView(APIView):
    throttle_scope = "read"

    @extend_schema(summary="One tier's rollout", responses=RolloutOutputSerializer)
    def get(self, request: Request, tier: str) -> Response:
        return Response(RolloutOutputSerializer(get_rollout(tier)).data)


class RolloutHistoryView(APIView):
    throttle_scope = "read"

    @extend_schema(summary="A rollout's transitions, newest first",
                   parameters=[HistoryQuerySerializer],
                   responses=TransitionOutputSerializer(many=True))
    def get(self, request: Request, tier: str) -> Response:
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        transitions = get_rollout(tier).transitions.all()[: query.validated_data["limit"]]
        return Response(TransitionOutputSerializer(transitions, many=True).data)


ACTION_RESPONSES = {
    200: ActionOutputSerializer,
    404: OpenApiResponse(description="No rollout for this tier"),
    409: OpenApiResponse(description="Refused (code `refused`), or the rollout changed since "
                                     "the caller looked at it (code `stale`); nothing changed"),
}


class RolloutActionView(APIView):
    """One verb. Subclasses name their input and call one action."""

    permission_classes = [HasAdminScope]
    throttle_scope = "admin"
    input_serializer: ClassVar[type[Serializer]] = RolloutActionInputSerializer

    def act(self, tier: str, data: dict[str, Any], common: dict[str, Any]) -> Transition:
        raise NotImplementedError

    def post(self, request: Request, tier: str) -> Response:
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rollout = get_rollout(tier)
        # Without expected_*, the state read now is what the caller acts on (as the command).
        expected = actions.Expected(data.get("expected_stage", rollout.stage),
                                    data.get("expected_status", rollout.status))
        common = {"actor": actor_name(request.auth, data.get("actor")), "expected": expected}
        try:
            transition = self.act(tier, data, common)
        except actions.StaleCommand as exc:
            raise Conflict(str(exc), code="stale") from None
        except actions.RolloutRefused as exc:
            raise Conflict(str(exc)) from None
        return Response(ActionOutputSerializer(
            {"transition": transition, "rollout": get_rollout(tier)}).data)


def actor_name(principal: Principal, actor: str | None) -> str:
    """Who acted, as the Transition records it: the key's name, and the person if given."""
    return f"{actor} (api:{principal.name})" if actor else f"api:{principal.name}"


def _action_schema(summary: str, request: type[Serializer]) -> Any:
    return extend_schema(summary=summary, request=request, responses=ACTION_RESPONSES)


class AdvanceView(RolloutActionView):
    input_serializer = ForceableActionInputSerializer

    @_action_schema("Advance to the next stage (gates must PASS)", ForceableActionInputSerializer)
    def post(self, request: Request, tier: str) -> Response:
        return super().post(request, tier)

    def act(self, tier: str, data: dict[str, Any], common: dict[str, Any]) -> Transition:
        return actions.advance(tier, force=data["force"], note=data["note"],
                               reason=TransitionReason.API_REQUEST, **common)


class SetStageView(RolloutActionView):
    input_serializer = SetStageInputSerializer

    @_action_schema("Jump to a stage of the ladder (up needs passing gates)",
                    SetStageInputSerializer)
    def post(self, request: Request, tier: str) -> Response:
        return super().post(request, tier)

    def act(self, tier: str, data: dict[str, Any], common: dict[str, Any]) -> Transition:
        return actions.set_stage(tier, data["stage"], force=data["force"], note=data["note"],
                                 reason=TransitionReason.API_REQUEST, **common)


class PauseView(RolloutActionView):
    @_action_schema("Hold at the current stage", RolloutActionInputSerializer)
    def post(self, request: Request, tier: str) -> Response:
        return super().post(request, tier)

    def act(self, tier: str, data: dict[str, Any], common: dict[str, Any]) -> Transition:
        return actions.pause(tier, note=data["note"], **common)


class ResumeView(RolloutActionView):
    @_action_schema("Continue a paused or rolled-back rollout", RolloutActionInputSerializer)
    def post(self, request: Request, tier: str) -> Response:
        return super().post(request, tier)

    def act(self, tier: str, data: dict[str, Any], common: dict[str, Any]) -> Transition:
        return actions.resume(tier, note=data["note"], **common)


class RollbackView(RolloutActionView):
    @_action_schema("All of the tier's traffic back to the cloud, at once",
                    RolloutActionInputSerializer)
    def post(self, request: Request, tier: str) -> Response:
        return super().post(request, tier)

    def act(self, tier: str, data: dict[str, Any], common: dict[str, Any]) -> Transition:
        return actions.rollback(tier, note=data["note"], reason=TransitionReason.API_REQUEST,
                                **common)
