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
    retries = models.PositiveSmallIntegerField(
        default=0, help_text="Provider retries inside this attempt (after a 429, 5xx or cut)."
    )
    purpose = models.CharField(max_length=64, blank=True)
    sub_agent = models.CharField(max_length=64, blank=True)
    phase = models.CharField(max_length=64, blank=True)
    source = models.CharField(
        max_length=64, blank=True, help_text="Which process or remote client recorded it."
    )

    class Meta:
        indexes = [
            # Gate evaluation: one tier's rows of one arm since the stage began.
            models.Index(fields=["tier", "routed_to", "created_at"], name="metric_tier_arm_time"),
            # Pruning and the metrics browser's default ordering by time.
            models.Index(fields=["created_at"], name="metric_time"),
            # The metrics browser's search: every attempt of one call.
            models.Index(fields=["request_id"], name="metric_request"),
            # /metrics: today's provider retries, read from the few rows that have any.
            models.Index(fields=["created_at"], name="metric_retried_time",
                         condition=models.Q(retries__gt=0)),
        ]

    def __str__(self) -> str:
        outcome = "ok" if self.success else self.error_type or "error"
        return f"{self.tier} {self.routed_to} {self.provider}/{self.model} {outcome}"


class MetricRollup(models.Model):
    """Per-minute aggregates of RequestMetric, written with the raw rows (same transaction).

    The gates read these: a stage a day old is 1,440 rows per arm instead of
    every attempt. Latency is kept as a histogram over fixed log-spaced buckets
    (`canary.rollups.LATENCY_EDGES`, 5% wide), so quantiles come within one bucket.
    """

    minute = models.DateTimeField()
    tier = models.CharField(max_length=16)
    routed_to = models.CharField(max_length=8, choices=RoutedTo.choices)
    model = models.CharField(max_length=200)
    stage = models.PositiveSmallIntegerField()
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    json_requested = models.PositiveIntegerField(default=0)  # successes that asked for JSON
    json_invalid = models.PositiveIntegerField(default=0)
    think_leaks = models.PositiveIntegerField(default=0)
    empty_or_truncated = models.PositiveIntegerField(default=0)
    timeouts = models.PositiveIntegerField(default=0)  # errors that were timeouts (in `errors`)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    latency_histogram = models.JSONField(
        default=dict, help_text="Successes per latency bucket index (sparse)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tier", "routed_to", "model", "stage", "minute"], name="rollup_unique"
            ),
        ]
        indexes = [
            # Gate evaluation and charts: one tier's arm over a time range.
            models.Index(fields=["tier", "routed_to", "minute"], name="rollup_tier_arm_minute"),
        ]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.tier} {self.routed_to} {self.model}"


class HourlyRollup(models.Model):
    """The minute rollups of one closed hour, per tier and arm (all models and stages).

    Written by `canary.hourly.roll_up_closed_hours` (scheduled) once an hour is
    over; the dashboard charts and /metrics read them so that a week is 168 rows
    per arm instead of 10,080 minute histograms to merge. p50/p95 are read from
    the merged histogram (within one 5% bucket, as `canary.rollups.quantile`).
    """

    hour = models.DateTimeField()
    tier = models.CharField(max_length=16)
    routed_to = models.CharField(max_length=8, choices=RoutedTo.choices)
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    json_requested = models.PositiveIntegerField(default=0)
    json_invalid = models.PositiveIntegerField(default=0)
    think_leaks = models.PositiveIntegerField(default=0)
    empty_or_truncated = models.PositiveIntegerField(default=0)
    timeouts = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    latency_histogram = models.JSONField(default=dict)
    p50_ms = models.FloatField(null=True)
    p95_ms = models.FloatField(null=True)

    class Meta:
        constraints = [
            # Also the index of every read: one tier's arm over a range of hours.
            models.UniqueConstraint(fields=["tier", "routed_to", "hour"], name="hourly_unique"),
        ]
        # The fill watermark (latest hour stored) and pruning.
        indexes = [models.Index(fields=["hour"], name="hourly_hour")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.tier} {self.routed_to}"


class MetricLoss(models.Model):
    """Metric records a process could not keep: its buffer overflowed while the database
    (or, for a remote client, the control plane) was unreachable. Written once the
    writes succeed again, so a loss is always on record and never silent."""

    source = models.CharField(max_length=64, help_text="The process that dropped them.")
    dropped = models.PositiveBigIntegerField()
    first_dropped_at = models.DateTimeField()
    last_dropped_at = models.DateTimeField()
    reported_at = models.DateTimeField(auto_now_add=True)
    buffer_limit = models.PositiveIntegerField(help_text="METRICS_MAX_BUFFER of that process.")

    class Meta:
        ordering = ["-reported_at"]
        verbose_name_plural = "metric losses"

    def __str__(self) -> str:
        return f"{self.dropped} metric record(s) dropped by {self.source}"


class RolloutStatus(models.TextChoices):
    ROLLING = "rolling", "rolling"
    PAUSED = "paused", "paused"
    ROLLED_BACK = "rolled_back", "rolled back"
    COMPLETE = "complete", "complete"


class TransitionReason(models.TextChoices):
    MANUAL = "manual", "manual advance"
    MANUAL_SET = "manual_set", "manual set stage"
    AUTO_ADVANCE = "auto_advance", "automatic advance"
    QUALITY_GATE_ROLLBACK = "quality_gate_rollback", "quality gate rollback"
    CONSECUTIVE_FAILURES = "consecutive_failures", "consecutive failures"
    API_REQUEST = "api_request", "API request"
    PAUSE = "pause", "pause"
    RESUME = "resume", "resume"


DEFAULT_LADDER = [0, 5, 25, 50, 100]


def default_ladder() -> list[int]:
    return list(DEFAULT_LADDER)


class Rollout(models.Model):
    """One per local-eligible tier: how much of its traffic goes to the local candidate.

    Changed only by `canary.actions`, under a row lock, with a Transition row.
    """

    tier = models.CharField(max_length=16, unique=True)
    candidate = models.ForeignKey(
        "registry.Model",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The local model under test.",
    )
    baseline = models.ForeignKey(
        "registry.Model",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The cloud model it is compared with.",
    )
    stage = models.PositiveSmallIntegerField(
        default=0, help_text="% of the tier's traffic sent local."
    )
    ladder = models.JSONField(default=default_ladder, help_text="Stages in order, from 0 to 100.")
    status = models.CharField(
        max_length=16, choices=RolloutStatus.choices, default=RolloutStatus.PAUSED
    )
    # Gate settings
    error_rate_ceiling = models.FloatField(default=0.05)
    baseline_error_margin = models.FloatField(
        default=0.02,
        help_text="How much worse than the baseline's error rate the candidate may be.",
    )
    latency_multiplier = models.FloatField(
        default=2.0, help_text="Candidate p95 ≤ this × baseline p95."
    )
    min_samples = models.PositiveIntegerField(default=50, help_text="Per arm, before a PASS.")
    consecutive_failure_limit = models.PositiveSmallIntegerField(default=3)
    json_invalid_ceiling = models.FloatField(default=0.05)
    think_leak_ceiling = models.FloatField(default=0.01)
    empty_answer_ceiling = models.FloatField(default=0.05)
    auto_advance = models.BooleanField(default=False)
    min_dwell_minutes = models.PositiveIntegerField(default=30, help_text="Minimum time per stage.")
    # State
    stage_entered_at = models.DateTimeField(auto_now_add=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_verdict = models.CharField(max_length=16, blank=True)
    last_evidence = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tier"]

    def __str__(self) -> str:
        return f"{self.tier} rollout at {self.stage}% ({self.status})"


class ProviderHealth(models.Model):
    """The last free health signal of each local provider (model listings, no completion)."""

    provider = models.OneToOneField(
        "registry.Provider", on_delete=models.CASCADE, related_name="health"
    )
    ok = models.BooleanField()
    detail = models.CharField(max_length=500)
    models_available = models.JSONField(default=list)
    models_loaded = models.JSONField(default=list)
    latency_ms = models.FloatField()
    checked_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "provider health"

    def __str__(self) -> str:
        return f"{self.provider.key}: {'up' if self.ok else 'down'}"


class Transition(models.Model):
    """Append-only log of every rollout change, written in the change's transaction."""

    rollout = models.ForeignKey(Rollout, on_delete=models.CASCADE, related_name="transitions")
    from_stage = models.PositiveSmallIntegerField()
    to_stage = models.PositiveSmallIntegerField()
    from_status = models.CharField(max_length=16, choices=RolloutStatus.choices)
    to_status = models.CharField(max_length=16, choices=RolloutStatus.choices)
    reason = models.CharField(max_length=32, choices=TransitionReason.choices)
    actor = models.CharField(max_length=150)
    note = models.TextField(blank=True)
    forced = models.BooleanField(default=False)
    evidence = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["rollout", "-created_at"], name="transition_history")]

    def __str__(self) -> str:
        return (
            f"{self.rollout.tier}: {self.from_stage}% {self.from_status} → "
            f"{self.to_stage}% {self.to_status} ({self.reason})"
        )
