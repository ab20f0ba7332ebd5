"""The model registry: providers, their models, and the rules that map calls to tiers.

Invariants live here, in `clean()`, so the admin shows them as form errors and
`registry.actions` (the only writer besides the admin) enforces the same ones.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

MAX_RETRIES = 10  # per provider: past this a burst is better failed over than waited out

ENV_NAME_VALIDATOR = RegexValidator(
    r"^[A-Z_][A-Z0-9_]*$",
    "Give the name of an environment variable (e.g. ANTHROPIC_API_KEY), never the key itself.",
)
KEY_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9_.-]*$", "Use lowercase letters, digits, '-', '_' or '.'."
)


class Tier(models.TextChoices):
    HAIKU = "haiku", "haiku (cheap: classify, triage, screening, fast)"
    SONNET = "sonnet", "sonnet (validation, generation, analysis, design)"
    OPUS = "opus", "opus (security, critical; never local)"


class ProviderKind(models.TextChoices):
    OLLAMA = "ollama", "Ollama (native /api/chat)"
    OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible (llama.cpp, vLLM, LM Studio)"
    ANTHROPIC = "anthropic", "Anthropic"
    OPENAI = "openai", "OpenAI"
    GOOGLE = "google", "Google Gemini"


class ModelStatus(models.TextChoices):
    ACTIVE = "active", "active"
    INACTIVE = "inactive", "inactive"
    DEPRECATED = "deprecated", "deprecated"


class Provider(models.Model):
    key = models.CharField(max_length=64, unique=True, validators=[KEY_VALIDATOR])
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=32, choices=ProviderKind.choices)
    base_url = models.URLField(max_length=300)
    api_key_env = models.CharField(
        "API key variable",
        max_length=100,
        blank=True,
        validators=[ENV_NAME_VALIDATOR],
        help_text="Name of the environment variable that holds the API key. "
        "Keys are never stored in the database.",
    )
    is_local = models.BooleanField(
        default=False, help_text="Runs on our own hardware (Ollama, llama.cpp, vLLM)."
    )
    enabled = models.BooleanField(default=True)
    timeout_ms = models.PositiveIntegerField(
        default=30_000,
        validators=[MinValueValidator(100)],
        help_text="Per-request timeout. Ollama providers use OLLAMA_TIMEOUT_MS when it is set.",
    )
    max_retries = models.PositiveSmallIntegerField(
        default=2,
        # Each retry may wait out a Retry-After of up to 30 s; the metric row's count
        # (and the metrics endpoint) stop at 100.
        validators=[MaxValueValidator(MAX_RETRIES)],
        help_text=f"Retries after the first attempt, for retryable errors only (at most "
                  f"{MAX_RETRIES}).",
    )
    retry_backoff_ms = models.PositiveIntegerField(
        default=500, help_text="Base delay of the exponential backoff (with jitter)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.is_local and self.pk and self.models.filter(tier=Tier.OPUS).exists():
            raise ValidationError(
                {"is_local": "This provider serves opus models; opus can never be local."}
            )
        if self.pk:
            from registry import invariants

            invariants.check_provider_change(self)


class ModelQuerySet(models.QuerySet["Model"]):
    def active(self) -> ModelQuerySet:
        return self.filter(status=ModelStatus.ACTIVE)

    def serving_cloud(self) -> ModelQuerySet:
        """Active cloud models whose provider is enabled: what a tier can always fall back to."""
        return self.active().filter(provider__enabled=True, provider__is_local=False)


class Model(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="models")
    model_key = models.CharField(
        max_length=200, help_text="The provider's model name, e.g. qwen3-coder:30b."
    )
    display_name = models.CharField(max_length=200)
    tier = models.CharField(max_length=16, choices=Tier.choices)
    status = models.CharField(
        max_length=16, choices=ModelStatus.choices, default=ModelStatus.ACTIVE
    )
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="Lower goes first within its tier."
    )
    context_window = models.PositiveIntegerField(default=8192)
    input_price_per_mtok = models.DecimalField(
        "input $/M tokens",
        max_digits=10,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Required, also for local models (0, or an energy/hardware estimate).",
    )
    output_price_per_mtok = models.DecimalField(
        "output $/M tokens",
        max_digits=10,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0"))],
    )
    supports_json = models.BooleanField("JSON output", default=True)
    supports_streaming = models.BooleanField("streaming", default=True)
    supports_thinking = models.BooleanField("thinking", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ModelQuerySet.as_manager()

    class Meta:
        ordering = ["tier", "priority", "model_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "model_key"], name="registry_model_unique_per_provider"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.model_key})"

    @property
    def is_local(self) -> bool:
        return self.provider.is_local

    def clean(self) -> None:
        if self.tier == Tier.OPUS and self.provider_id and self.provider.is_local:
            raise ValidationError(
                {"tier": "An opus model can never be local: pick a cloud provider or another tier."}
            )
        from registry import invariants

        invariants.check_model_change(self)


class RuleKind(models.TextChoices):
    PHASE = "phase", "phase + sub-agent"
    SUB_AGENT = "sub_agent", "sub-agent default"
    PURPOSE = "purpose", "purpose"
    DEFAULT = "default", "default tier"


class RoutingRule(models.Model):
    """Maps a call to a tier. Precedence: phase+sub-agent, sub-agent default, purpose, default.

    Which fields are filled decides the kind; `kind` is stored so the precedence
    and the admin's filters do not have to re-derive it.
    """

    kind = models.CharField(max_length=16, choices=RuleKind.choices, editable=False)
    phase = models.CharField(max_length=64, blank=True)
    sub_agent = models.CharField("sub-agent", max_length=64, blank=True)
    purpose = models.CharField(max_length=64, blank=True)
    tier = models.CharField(max_length=16, choices=Tier.choices)
    position = models.PositiveIntegerField(
        default=0, help_text="Order within its kind in exports (keeps imports lossless)."
    )
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "position", "phase", "sub_agent", "purpose"]
        constraints = [
            models.UniqueConstraint(
                fields=["phase", "sub_agent", "purpose"], name="registry_rule_unique_match"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.describe_match()} → {self.tier}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.kind = self.kind_for(self.phase, self.sub_agent, self.purpose)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def describe_match(self) -> str:
        if self.kind == RuleKind.PHASE:
            return f"phase {self.phase} / {self.sub_agent}"
        if self.kind == RuleKind.SUB_AGENT:
            return f"sub-agent {self.sub_agent}"
        if self.kind == RuleKind.PURPOSE:
            return f"purpose {self.purpose}"
        return "default"

    @staticmethod
    def kind_for(phase: str, sub_agent: str, purpose: str) -> str:
        if purpose and (phase or sub_agent):
            raise ValidationError(
                "A purpose rule matches on purpose alone; clear phase and sub-agent."
            )
        if phase and not sub_agent:
            raise ValidationError({"sub_agent": "A phase rule needs a sub-agent."})
        if phase:
            return RuleKind.PHASE
        if sub_agent:
            return RuleKind.SUB_AGENT
        if purpose:
            return RuleKind.PURPOSE
        return RuleKind.DEFAULT

    def clean(self) -> None:
        # Stored as written (exports must reproduce the file); matching is case-insensitive.
        self.phase, self.sub_agent = self.phase.strip(), self.sub_agent.strip()
        self.purpose = self.purpose.strip()
        self.kind = self.kind_for(self.phase, self.sub_agent, self.purpose)
        from registry import invariants

        invariants.check_rule_target(self.tier)


class RegistryState(models.Model):
    """One row: the registry version every process compares against its snapshot.

    Bumped (with F()) in the same transaction as any registry change, so a
    process that sees the new version also sees the change.
    """

    version = models.BigIntegerField(default=1)
    changed_at = models.DateTimeField(auto_now=True)
    routing_document = models.JSONField(
        default=dict,
        blank=True,
        help_text="Top-level keys of the last imported routing file that are not rules "
        "(kept so that export reproduces the file).",
    )

    class Meta:
        verbose_name = "registry state"
        verbose_name_plural = "registry state"

    def __str__(self) -> str:
        return f"registry version {self.version}"


class ApiKeyScope(models.TextChoices):
    ROUTE = "route", "route (routing, routing table, metrics, gateway, reads)"
    ADMIN = "admin", "admin (route, plus rollout changes)"


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)

    def revoke(self) -> int:
        """Revoke the active keys among these; returns how many."""
        return self.active().update(revoked_at=timezone.now())


class ApiKey(models.Model):
    """A credential for the REST API, the gateway and remote clients.

    The key is shown once, when created; only its SHA-256 is stored (the key is
    random and long, so a slow password hash would add nothing). `prefix` is the
    readable start of the key, unique, used to find the row before comparing hashes.
    """

    PREFIX = "lc_"
    PREFIX_CHARS = 8

    name = models.CharField(max_length=100, help_text="Who or what uses this key.")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scope = models.CharField(max_length=16, choices=ApiKeyScope.choices, default=ApiKeyScope.ROUTE)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="Recorded at most once a minute per process.",
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["name", "prefix"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        """admin keys may do everything a route key may."""
        return self.scope == ApiKeyScope.ADMIN or scope == self.scope

    @classmethod
    def create(cls, name: str, scope: str = ApiKeyScope.ROUTE) -> tuple[ApiKey, str]:
        """A new key: (the saved row, the key itself, which is never stored)."""
        key = cls(name=name, scope=scope)
        raw = key.issue()
        key.full_clean()
        key.save()
        return key, raw

    def issue(self) -> str:
        """Give this unsaved key its secret; returns the key (only its hash is kept)."""
        alphabet = string.ascii_lowercase + string.digits
        self.prefix = self.PREFIX + "".join(
            secrets.choice(alphabet) for _ in range(self.PREFIX_CHARS))
        raw = f"{self.prefix}_{secrets.token_urlsafe(32)}"
        self.key_hash = hash_key(raw)
        return raw

    @staticmethod
    def prefix_of(raw: str) -> str | None:
        """The prefix part of a presented key, or None when it cannot be one of ours."""
        size = len(ApiKey.PREFIX) + ApiKey.PREFIX_CHARS
        if not raw.startswith(ApiKey.PREFIX) or len(raw) < size + 2 or raw[size] != "_":
            return None
        return raw[:size]

    def revoke(self) -> None:
        ApiKey.objects.filter(pk=self.pk).revoke()
        self.refresh_from_db(fields=["revoked_at"])


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ReceivedMetricBatch(models.Model):
    """A batch of metrics posted by a remote client, kept so that a re-sent batch
    (its reply was lost) is stored once. Rows older than the metric retention go."""

    batch_id = models.CharField(max_length=64, unique=True)
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, related_name="+")
    records = models.PositiveIntegerField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "received metric batch"

    def __str__(self) -> str:
        return f"batch {self.batch_id} ({self.records} records)"
