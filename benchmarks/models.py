"""Benchmark suites (cases as data), verdict thresholds, and runs with their results.

Cases are loaded from the files in `benchmarks/suites/` and then belong to the
admin; a run stores one BenchmarkResult per model (its figures and verdict) and
one BenchmarkCall per call, so every figure can be traced to the answers behind it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from benchmarks import suites, verdict
from benchmarks.runner import CATEGORIES, CaseSpec
from registry.models import Model, Tier

PERCENT = [MinValueValidator(0.0), MaxValueValidator(100.0)]


class Category(models.TextChoices):
    SPEED = "speed"
    CLASSIFY = "classify"
    JSON = "json"
    INSTRUCT = "instruct"
    RCA = "rca", "rca (agent)"
    DESIGN = "design", "design (agent)"
    QUICKFIX = "quickfix", "quickfix (agent)"
    SCHEMA = "schema", "schema (agent)"
    REVIEW = "review", "review (agent)"


assert tuple(Category.values) == CATEGORIES  # one list of categories, in report order


class Response(models.TextChoices):
    TEXT = "text", "text"
    JSON = "json", "JSON mode"
    SCHEMA = "schema", "JSON with the check's schema sent to the server"


class BenchmarkCase(models.Model):
    key = models.SlugField(max_length=100, unique=True)
    category = models.CharField(max_length=16, choices=Category.choices)
    system_prompt = models.TextField(blank=True)
    user_prompt = models.TextField(help_text="Speed cases may use {variant}: replaced per "
                                             "iteration so that no prompt cache flatters them.")
    variants = models.JSONField(default=list, blank=True,
                                help_text='A list of strings, e.g. ["a bakery", "a bike shop"].')
    check_spec = models.JSONField(
        "check", help_text='e.g. {"kind": "label", "labels": ["bug", "feature"], '
                           '"expected": "bug"}; see docs/model-benchmarks.md.')
    response = models.CharField(max_length=8, choices=Response.choices, default=Response.TEXT)
    max_tokens = models.PositiveIntegerField(default=256, validators=[MinValueValidator(1)])
    enabled = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=100, blank=True, editable=False,
                              help_text="The suite file it was loaded from.")
    position = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "position", "key"]
        indexes = [models.Index(fields=["category", "enabled"])]

    def __str__(self) -> str:
        return self.key

    def clean(self) -> None:
        variants = self.variants if isinstance(self.variants, list) else []
        problems = suites.validate_case(
            key=self.key, category=self.category, prompt=self.user_prompt, check=self.check_spec,
            max_tokens=self.max_tokens or 0, response=self.response, variants=variants)
        if not isinstance(self.variants, list):
            problems["variants"] = "variants must be a list of strings"
        names = {"prompt": "user_prompt", "check": "check_spec"}
        if problems:
            raise ValidationError({names.get(k, k): v for k, v in problems.items()})

    def spec(self) -> CaseSpec:
        return suites.to_spec(suites.CaseDefinition(
            key=self.key, category=self.category, prompt=self.user_prompt, check=self.check_spec,
            system=self.system_prompt, max_tokens=self.max_tokens, response=self.response,
            variants=tuple(self.variants)))

    def definition(self) -> dict[str, Any]:
        """What a run records of the case, so later edits do not rewrite old results."""
        return {"category": self.category, "system": self.system_prompt, "prompt": self.user_prompt,
                "variants": self.variants, "check": self.check_spec, "response": self.response,
                "max_tokens": self.max_tokens}


class VerdictPolicy(models.Model):
    """The thresholds a model must meet to be eligible for a tier."""

    tier = models.CharField(max_length=16, choices=Tier.choices, unique=True)
    category_minimums = models.JSONField(
        default=dict, blank=True,
        help_text='Minimum pass rate (%) per category, e.g. {"classify": 90, "json": 90}. '
                  "A category listed here must be run for the model to be eligible.")
    min_json_valid_pct = models.FloatField("min JSON valid %", null=True, blank=True,
                                           validators=PERCENT)
    max_think_leak_pct = models.FloatField("max think leaks %", null=True, blank=True,
                                           validators=PERCENT)
    max_error_pct = models.FloatField("max errors %", null=True, blank=True, validators=PERCENT)
    max_empty_or_truncated_pct = models.FloatField("max empty/truncated %", null=True,
                                                   blank=True, validators=PERCENT)
    p95_latency_budget_ms = models.PositiveIntegerField("p95 latency budget (ms)", null=True,
                                                        blank=True)
    min_generation_tps = models.FloatField("min generation tok/s", null=True, blank=True,
                                           validators=[MinValueValidator(0.0)])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tier"]
        verbose_name_plural = "verdict policies"

    def __str__(self) -> str:
        return f"thresholds for {self.tier}"

    def clean(self) -> None:
        minimums = self.category_minimums
        if not isinstance(minimums, dict) or not all(
                k in CATEGORIES and isinstance(v, int | float) and not isinstance(v, bool)
                and 0 <= v <= 100 for k, v in minimums.items()):
            raise ValidationError({"category_minimums": "Give an object of category → "
                                   f"percentage (0–100); categories: {', '.join(CATEGORIES)}."})

    def thresholds(self) -> verdict.Thresholds:
        return verdict.Thresholds(
            tier=self.tier,
            category_minimums={k: float(v) for k, v in self.category_minimums.items()},
            min_json_valid_pct=self.min_json_valid_pct,
            max_think_leak_pct=self.max_think_leak_pct, max_error_pct=self.max_error_pct,
            max_empty_or_truncated_pct=self.max_empty_or_truncated_pct,
            p95_latency_budget_ms=self.p95_latency_budget_ms,
            min_generation_tps=self.min_generation_tps)


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class BenchmarkRun(models.Model):
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    actor = models.CharField(max_length=150, help_text="Who started it: cli, or a user name.")
    model_refs = models.JSONField(default=list, help_text="Model references, provider/model.")
    tasks = models.JSONField(default=list, help_text="Categories run.")
    iterations = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    compare_to = models.CharField(max_length=300, blank=True)
    timeout_s = models.FloatField("per-case timeout (s)", default=60.0)
    cases = models.JSONField(default=dict, help_text="The case definitions used, by key.")
    machine = models.CharField(max_length=200, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    current = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"benchmark run #{self.pk}"

    @property
    def progress_pct(self) -> float:
        return 100.0 * self.progress_done / self.progress_total if self.progress_total else 0.0


class Verdicts(models.TextChoices):
    ELIGIBLE = verdict.Status.ELIGIBLE.value, "eligible"
    NOT_ELIGIBLE = verdict.Status.NOT_ELIGIBLE.value, "not eligible"
    INCOMPLETE = verdict.Status.INCOMPLETE.value, "incomplete"
    NEVER_LOCAL = verdict.Status.NEVER_LOCAL.value, "never local"
    NO_POLICY = "no_policy", "no thresholds for this tier"


class BenchmarkResult(models.Model):
    """One model's figures in one run, and its verdict for its registry tier."""

    run = models.ForeignKey(BenchmarkRun, on_delete=models.CASCADE, related_name="results")
    model = models.ForeignKey(Model, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="benchmark_results",
                              help_text="The registry model, when the reference is registered.")
    model_ref = models.CharField(max_length=300)
    tier = models.CharField(max_length=16, blank=True)
    is_local = models.BooleanField(default=False)
    is_baseline = models.BooleanField(default=False, help_text="The --compare-to model.")
    calls = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    error_kinds = models.JSONField(default=dict, blank=True)
    warm_up_ms = models.FloatField(null=True, blank=True)
    warm_up_error = models.CharField(max_length=500, blank=True)
    generation_tps = models.FloatField(null=True, blank=True)
    generation_tps_stddev = models.FloatField(null=True, blank=True)
    tps_source = models.CharField(max_length=16, blank=True)
    tps_samples = models.PositiveIntegerField(default=0)
    measured_tps = models.FloatField(null=True, blank=True)
    server_tps = models.FloatField(null=True, blank=True)
    prompt_tps = models.FloatField(null=True, blank=True)
    ttft_ms = models.FloatField("TTFT p50 (ms)", null=True, blank=True)
    ttfat_ms = models.FloatField("first answer token p50 (ms)", null=True, blank=True)
    latency_p50_ms = models.FloatField(null=True, blank=True)
    latency_p95_ms = models.FloatField(null=True, blank=True)
    pass_rates = models.JSONField(default=dict, blank=True)
    json_valid_pct = models.FloatField(null=True, blank=True)
    think_leak_pct = models.FloatField(null=True, blank=True)
    empty_or_truncated_pct = models.FloatField(null=True, blank=True)
    verdict = models.CharField(max_length=16, choices=Verdicts.choices, blank=True)
    verdict_reasons = models.JSONField(default=list, blank=True)
    verdicts = models.JSONField(default=dict, blank=True,
                                help_text="The verdict for every tier with thresholds.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "pk"]
        # Serves the registry admin's "latest verdict" subquery, one per model row.
        indexes = [models.Index(fields=["model", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.model_ref} in run #{self.run_id}"

    def verdict_text(self) -> str:
        label = Verdicts(self.verdict).label if self.verdict else "—"
        reasons = "; ".join(self.verdict_reasons)
        return f"{label} ({self.tier}): {reasons}" if reasons else f"{label} ({self.tier})"


class BenchmarkCall(models.Model):
    """One call of one case (one iteration) in a result."""

    result = models.ForeignKey(BenchmarkResult, on_delete=models.CASCADE, related_name="calls_made")
    case_key = models.CharField(max_length=100)
    category = models.CharField(max_length=16, choices=Category.choices)
    iteration = models.PositiveSmallIntegerField()
    passed = models.BooleanField()
    reason = models.CharField(max_length=500, blank=True)
    error_kind = models.CharField(max_length=32, blank=True)
    answer = models.TextField(blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    ttft_ms = models.FloatField(null=True, blank=True)
    ttfat_ms = models.FloatField(null=True, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    measured_tps = models.FloatField(null=True, blank=True)
    server_tps = models.FloatField(null=True, blank=True)
    think_leaked = models.BooleanField(default=False)
    json_valid = models.BooleanField(null=True, blank=True)
    finish_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["result", "iteration", "pk"]

    def __str__(self) -> str:
        return f"{self.case_key} #{self.iteration}"
