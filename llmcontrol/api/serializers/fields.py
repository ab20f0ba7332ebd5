"""Fields shared by the input serializers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from llmcontrol.gateway.requests import UNPRINTABLE


class LabelField(serializers.CharField):
    """A name, label or key: one printable line. A CR LF in a purpose or routing key would
    be stored, shown in the admin and exported as a label (Prometheus, CSV) as it came."""

    def to_internal_value(self, data: Any) -> str:
        value: str = super().to_internal_value(data)
        if "\x00" not in value and UNPRINTABLE.search(value):
            # (A NUL is refused by DRF's own validator, with its own message.)
            raise serializers.ValidationError("Control characters are not allowed.")
        return value
