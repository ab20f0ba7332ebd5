"""POST /api/v1/route and GET /api/v1/routing-table."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from llmcontrol.api.serializers.fields import LabelField
from registry.models import Tier


class RouteInputSerializer(serializers.Serializer):
    purpose = LabelField(max_length=64, required=False)
    sub_agent = LabelField(max_length=64, required=False)
    phase = LabelField(max_length=64, required=False)
    tier = serializers.ChoiceField(choices=Tier.choices, required=False,
                                   help_text="Force the tier (rules are then not consulted).")
    model = LabelField(max_length=265, required=False,
                       help_text='Force the model: a model key, or "provider/model".')
    provider = LabelField(max_length=64, required=False, help_text="Force the provider.")
    routing_key = LabelField(
        max_length=200, required=False,
        help_text="A user, session or conversation id: the same key lands on the same side "
                  "of a rollout. Without it the bucket is random.")
    allow_local = serializers.BooleanField(default=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A misspelt field would otherwise be ignored and change the decision silently.
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


class ModelRefSerializer(serializers.Serializer):
    provider = serializers.CharField(source="provider_key")
    model = serializers.CharField(source="model_key")
    ref = serializers.CharField(help_text='"provider/model"')
    display_name = serializers.CharField()
    tier = serializers.CharField()
    is_local = serializers.BooleanField()


class ProviderRefSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    is_local = serializers.BooleanField()


class DecisionOutputSerializer(serializers.Serializer):
    tier = serializers.CharField()
    provider = ProviderRefSerializer()
    model = ModelRefSerializer()
    local = serializers.BooleanField()
    fallback = ModelRefSerializer(many=True, help_text="Tried in order if the model fails.")
    bucket = serializers.IntegerField(help_text="0-9999; local when bucket < stage * 100.")
    stage = serializers.IntegerField(help_text="The tier's rollout stage (% local).")
    rule = serializers.CharField(help_text="explicit, tier, phase, sub_agent, purpose or default")
    reason = serializers.CharField()
    snapshot_version = serializers.IntegerField()


# The routing table: exactly RoutingSnapshot.to_dict(), which the remote client
# reads with RoutingSnapshot.from_dict(). Declared here for the schema.


class TableProviderSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    base_url = serializers.CharField()
    api_key_env = serializers.CharField(
        help_text="The *name* of the variable that holds the key in the caller's environment.")
    is_local = serializers.BooleanField()
    enabled = serializers.BooleanField()
    timeout_ms = serializers.IntegerField()
    max_retries = serializers.IntegerField()
    retry_backoff_ms = serializers.IntegerField()


class TableModelSerializer(serializers.Serializer):
    provider = serializers.CharField()
    model = serializers.CharField()
    display_name = serializers.CharField()
    tier = serializers.CharField()
    status = serializers.CharField()
    priority = serializers.IntegerField()
    is_local = serializers.BooleanField()
    context_window = serializers.IntegerField()
    input_price_per_mtok = serializers.FloatField()
    output_price_per_mtok = serializers.FloatField()
    supports_json = serializers.BooleanField()
    supports_streaming = serializers.BooleanField()
    supports_thinking = serializers.BooleanField()


class TableRulesSerializer(serializers.Serializer):
    phase = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(), min_length=3, max_length=3),
        help_text="[phase, sub_agent, tier] triples (case-folded).")
    sub_agent = serializers.DictField(child=serializers.CharField())
    purpose = serializers.DictField(child=serializers.CharField())
    default_tier = serializers.CharField()


class TableRolloutSerializer(serializers.Serializer):
    tier = serializers.CharField()
    stage = serializers.IntegerField()
    status = serializers.CharField()
    candidate = serializers.CharField(allow_null=True)
    baseline = serializers.CharField(allow_null=True)


class RoutingTableOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    providers = TableProviderSerializer(many=True)
    models = TableModelSerializer(many=True)
    rules = TableRulesSerializer()
    rollouts = TableRolloutSerializer(many=True)
