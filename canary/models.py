"""Rollout evidence: one RequestMetric row per attempt (local failure, fallback, success)."""

from __future__ import annotations

from django.db import models


class RoutedTo(models.TextChoices):
    LOCAL = "local", "local"
    CLOUD = "cloud", "cloud"
    FALLBACK = "fallback", "fallback"


class RequestMetric(models.Model):
    """Narrow on purpose: it grows by millions of rows. Never holds prompt or answer text."""

    created_at = models.DateTimeField(db_index=False)
    request_id = models.CharField(max_length=32, help_text="Groups the attempts of one call.")
    attempt = models.PositiveSmallIntegerField(default=0)
    tier = models.CharField(max_length=16)
    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=200)
    routed_to = models.CharField(max_length=8, choices=RoutedTo.choices)
    bucket = models.PositiveSmallIntegerField()
    stage = models.PositiveSmallIntegerField()
    success = models.BooleanField()
    error_type = models.CharField(max_length=32, blank=True)
    latency_ms = models.FloatField()
    ttft_ms = models.FloatField(null=True, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    json_requested = models.BooleanField(default=False)
    json_valid = models.BooleanField(null=True, blank=True)
    think_leaked = models.BooleanField(default=False)
    empty_answer = models.BooleanField(default=False)
    finish_reason = models.CharField(max_length=32, blank=True)
    streamed = models.BooleanField(default=False)
    purpose = models.CharField(max_length=64, blank=True)
    sub_agent = models.CharField(max_length=64, blank=True)
    phase = models.CharField(max_length=64, blank=True)
    source = models.CharField(
        max_length=64, blank=True, help_text="Which process or remote client recorded it."
    )

    class Meta:
        indexes = [
            # Gate evaluation: one tier's rows of one arm inside the time window.
            models.Index(fields=["tier", "routed_to", "created_at"], name="metric_tier_arm_time"),
            # Pruning and the metrics browser's default ordering by time.
            models.Index(fields=["created_at"], name="metric_time"),
        ]

    def __str__(self) -> str:
        outcome = "ok" if self.success else self.error_type or "error"
        return f"{self.tier} {self.routed_to} {self.provider}/{self.model} {outcome}"
