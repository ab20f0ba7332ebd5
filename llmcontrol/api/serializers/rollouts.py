"""Rollout reads and the actions on them (advance, set, pause, resume, rollback)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from canary.models import Rollout, RolloutStatus, Transition


def model_ref(model: Any) -> str | None:
    return f"{model.provider.key}/{model.model_key}" if model else None


class RolloutOutputSerializer(serializers.ModelSerializer):
    candidate = serializers.SerializerMethodField(help_text='The local model, "provider/model".')
    baseline = serializers.SerializerMethodField(help_text='The cloud model, "provider/model".')
    split = serializers.SerializerMethodField()
    ladder = serializers.ListField(child=serializers.IntegerField())
    gate_summary = serializers.SerializerMethodField(help_text="From the last evaluation.")

    class Meta:
        model = Rollout
        fields = ["tier", "stage", "status", "split", "candidate", "baseline", "ladder",
                  "stage_entered_at", "auto_advance", "min_dwell_minutes", "last_verdict",
                  "last_evaluated_at", "gate_summary"]

    def get_candidate(self, rollout: Rollout) -> str | None:
        return model_ref(rollout.candidate)

    def get_baseline(self, rollout: Rollout) -> str | None:
        return model_ref(rollout.baseline)

    def get_split(self, rollout: Rollout) -> str:
        return f"{rollout.stage}% local / {100 - rollout.stage}% cloud"

    def get_gate_summary(self, rollout: Rollout) -> str:
        return str((rollout.last_evidence or {}).get("summary", ""))


class TransitionOutputSerializer(serializers.ModelSerializer):
    evidence = serializers.JSONField()

    class Meta:
        model = Transition
        fields = ["id", "created_at", "from_stage", "to_stage", "from_status", "to_status",
                  "reason", "actor", "forced", "note", "evidence"]


class HistoryQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=500, default=20)


class RolloutActionInputSerializer(serializers.Serializer):
    """What every action takes. Without expected_*, the state read now is what is acted on
    (as `manage.py canary` does without --expect-*)."""

    expected_stage = serializers.IntegerField(
        min_value=0, max_value=100, required=False,
        help_text="Refuse (409) if the rollout is no longer at this stage.")
    expected_status = serializers.ChoiceField(
        choices=RolloutStatus.choices, required=False,
        help_text="Refuse (409) if the rollout no longer has this status.")
    note = serializers.CharField(max_length=2000, allow_blank=True, default="",
                                 help_text="Recorded with the transition; required with force.")
    actor = serializers.CharField(max_length=40, required=False,
                                  help_text="Who is acting; recorded with the key's name.")


class ForceableActionInputSerializer(RolloutActionInputSerializer):
    force = serializers.BooleanField(default=False,
                                     help_text="Skip the gates (needs a note saying why).")


class SetStageInputSerializer(ForceableActionInputSerializer):
    stage = serializers.IntegerField(min_value=0, max_value=100)


class ActionOutputSerializer(serializers.Serializer):
    transition = TransitionOutputSerializer()
    rollout = RolloutOutputSerializer()
