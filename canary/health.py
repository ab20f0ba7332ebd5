"""Local provider health from free signals (model listings), recorded for rollouts and the admin."""

from __future__ import annotations

from django.utils import timezone

from canary.models import ProviderHealth
from llmcontrol.client.pool import adapter_for
from llmcontrol.switches import read_switches
from registry.models import Provider
from registry.snapshot import get_snapshot


def check_provider(provider_key: str) -> ProviderHealth:
    """Ask the provider's adapter for its health (no billed completion) and record it."""
    spec = get_snapshot().providers[provider_key]
    report = adapter_for(spec, read_switches(), model="").health()
    health, _ = ProviderHealth.objects.update_or_create(
        provider=Provider.objects.get(key=provider_key),
        defaults={
            "ok": report.ok, "detail": report.detail[:500], "models_available": report.models,
            "models_loaded": report.loaded, "latency_ms": report.latency_ms,
            "checked_at": timezone.now(),
        },
    )
    return health


def check_local_providers() -> list[ProviderHealth]:
    keys = Provider.objects.filter(is_local=True, enabled=True).values_list("key", flat=True)
    return [check_provider(key) for key in keys]
