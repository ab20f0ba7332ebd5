"""Confirmation forms: what the operator saw (expected stage and status) and why they act."""

from __future__ import annotations

from typing import Any

from django import forms

from canary.actions import Expected
from canary.models import RolloutStatus


class ActionForm(forms.Form):
    expected_stage = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=100)
    expected_status = forms.ChoiceField(choices=RolloutStatus.choices, widget=forms.HiddenInput)
    reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
        help_text="Recorded with the transition: what you saw and why you act.",
        error_messages={"required": "Give a reason: it is recorded with the transition."})

    def expected(self) -> Expected:
        return Expected(self.cleaned_data["expected_stage"], self.cleaned_data["expected_status"])


class GatedActionForm(ActionForm):
    force = forms.BooleanField(
        required=False, label="Force: skip the gates",
        help_text="Only when you know better than the evidence; the reason is recorded.")


class SetStageForm(GatedActionForm):
    stage = forms.TypedChoiceField(coerce=int, label="New stage")
    field_order = ["stage", "reason", "force"]

    def __init__(self, *args: Any, ladder: list[int], current: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [(s, f"{s}%") for s in ladder if s != current]
