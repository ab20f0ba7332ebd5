"""Read-only registry views. Never a secret: providers hold only the *name* of a key variable."""

from __future__ import annotations

from rest_framework import serializers

from registry.models import Model, ModelStatus, Provider, Tier


class ProviderOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Provider
        fields = ["key", "name", "kind", "base_url", "api_key_env", "is_local", "enabled",
                  "timeout_ms", "max_retries", "retry_backoff_ms", "updated_at"]


class ModelOutputSerializer(serializers.ModelSerializer):
    provider = serializers.CharField(source="provider.key")
    is_local = serializers.BooleanField(source="provider.is_local")
    ref = serializers.SerializerMethodField(help_text='"provider/model"')

    class Meta:
        model = Model
        fields = ["id", "provider", "model_key", "ref", "display_name", "tier", "status",
                  "priority", "is_local", "context_window", "input_price_per_mtok",
                  "output_price_per_mtok", "supports_json", "supports_streaming",
                  "supports_thinking", "updated_at"]

    def get_ref(self, model: Model) -> str:
        return f"{model.provider.key}/{model.model_key}"


class ModelFilterSerializer(serializers.Serializer):
    provider = serializers.CharField(max_length=64, required=False)
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    status = serializers.ChoiceField(choices=ModelStatus.choices, required=False)
