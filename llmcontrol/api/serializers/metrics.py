"""POST /api/v1/metrics: a batch of MetricRecord.to_dict() from a remote client."""

from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers

from canary.models import RoutedTo
from llmcontrol.api.serializers.fields import LabelField
from registry.models import Tier

MAX_BATCH_RECORDS = 5_000  # the remote client sends at most 500
MAX_POSITIVE_INT = 2_147_483_647  # PositiveIntegerField on PostgreSQL


class FiniteFloatField(serializers.FloatField):
    def to_internal_value(self, data: Any) -> float:
        value: float = super().to_internal_value(data)
        if not math.isfinite(value):
            raise serializers.ValidationError("Must be a finite number.")
        return value


class MetricRecordInputSerializer(serializers.Serializer):
    """One attempt of one call, as `llmcontrol.client.metrics.MetricRecord.to_dict()` writes it."""

    request_id = LabelField(max_length=32)
    attempt = serializers.IntegerField(min_value=0, max_value=32_767)
    tier = serializers.ChoiceField(choices=Tier.choices)
    provider = LabelField(max_length=64)
    model = LabelField(max_length=200)
    routed_to = serializers.ChoiceField(choices=RoutedTo.choices)
    bucket = serializers.IntegerField(min_value=0, max_value=9_999)
    stage = serializers.IntegerField(min_value=0, max_value=100)
    success = serializers.BooleanField()
    latency_ms = FiniteFloatField(min_value=0)
    error_type = LabelField(max_length=32, allow_blank=True, default="")
    ttft_ms = FiniteFloatField(min_value=0, allow_null=True, default=None)
    input_tokens = serializers.IntegerField(min_value=0, max_value=MAX_POSITIVE_INT, default=0)
    output_tokens = serializers.IntegerField(min_value=0, max_value=MAX_POSITIVE_INT, default=0)
    json_requested = serializers.BooleanField(default=False)
    json_valid = serializers.BooleanField(allow_null=True, default=None)
    think_leaked = serializers.BooleanField(default=False)
    empty_answer = serializers.BooleanField(default=False)
    finish_reason = LabelField(max_length=32, allow_blank=True, default="")
    streamed = serializers.BooleanField(default=False)
    retries = serializers.IntegerField(min_value=0, max_value=100, default=0)
    purpose = LabelField(max_length=64, allow_blank=True, default="")
    sub_agent = LabelField(max_length=64, allow_blank=True, default="")
    phase = LabelField(max_length=64, allow_blank=True, default="")
    created_at = serializers.DateTimeField()


class MetricBatchInputSerializer(serializers.Serializer):
    batch_id = serializers.RegexField(
        r"^[A-Za-z0-9_.:-]{1,64}$", max_length=64,
        help_text="Chosen by the client; the same id sent again is stored once.")
    records = MetricRecordInputSerializer(many=True, allow_empty=False,
                                          max_length=MAX_BATCH_RECORDS)


class MetricBatchOutputSerializer(serializers.Serializer):
    batch_id = serializers.CharField()
    stored = serializers.IntegerField(
        help_text="Records stored by this request: 0 for a repeated batch id; records stored "
                  "before under another batch id (the same request_id and attempt) are "
                  "skipped.")
    duplicate = serializers.BooleanField(help_text="This batch id had been stored before.")


class MetricBatchErrorSerializer(serializers.Serializer):
    """400: the whole batch was refused; nothing was stored. A body that is not JSON at all
    gets only `detail`."""

    detail = serializers.CharField()
    index = serializers.IntegerField(allow_null=True, required=False,
                                     help_text="The first bad record (null: the batch itself).")
    errors = serializers.JSONField(required=False, help_text="That record's errors, by field.")


class MetricLossInputSerializer(serializers.Serializer):
    """Records a remote client's buffer could not keep (the control plane was unreachable
    and METRICS_MAX_BUFFER full): reported once it is reachable again, never silent."""

    dropped = serializers.IntegerField(min_value=1, max_value=2**62)
    first_dropped_at = serializers.DateTimeField()
    last_dropped_at = serializers.DateTimeField()
    buffer_limit = serializers.IntegerField(min_value=0, max_value=MAX_POSITIVE_INT)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        if attrs["last_dropped_at"] < attrs["first_dropped_at"]:
            raise serializers.ValidationError(
                {"last_dropped_at": ["Must not be before first_dropped_at."]})
        return attrs


class MetricLossOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField()
    dropped = serializers.IntegerField()
