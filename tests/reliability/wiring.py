"""The registry the reliability tests route on, written to whichever database Django uses:
the seed's registry, providers pointed at the fakes (or the real local model), the
internet's providers disabled, and a haiku rollout at the given stage."""

from __future__ import annotations

from typing import Any


def wire(*, anthropic: str, ollama: str | None = None, llamacpp: str | None = None,
         stage: int = 100, cloud_retries: int = 0, local_timeout_ms: int | None = None,
         **rollout_settings: Any) -> None:
    from django.db import transaction

    from canary import actions
    from registry.actions import bump_version, seed_defaults
    from registry.models import Provider

    with transaction.atomic():
        seed_defaults()
        providers = Provider.objects.all()
        providers.filter(key__in=["openai", "google"]).update(enabled=False)
        providers.filter(key="anthropic").update(base_url=anthropic, max_retries=cloud_retries)
        for key, url in (("ollama", ollama), ("llamacpp-local", llamacpp)):
            if url is None:
                providers.filter(key=key).update(enabled=False)
            else:
                fields: dict[str, Any] = {"base_url": url, "max_retries": 0, "enabled": True}
                if local_timeout_ms is not None:
                    fields["timeout_ms"] = local_timeout_ms
                providers.filter(key=key).update(**fields)
        bump_version()
    actions.create_rollout("haiku", actor="test", **rollout_settings)
    if stage:
        actions.set_stage("haiku", stage, actor="test", force=True,
                          note="reliability test starts here")


def new_key(name: str = "reliability") -> str:
    from registry.models import ApiKey, ApiKeyScope

    return ApiKey.create(name, ApiKeyScope.ROUTE)[1]
