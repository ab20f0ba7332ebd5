from typing import Any

from django.core.management.base import BaseCommand

from registry.actions import seed_defaults


class Command(BaseCommand):
    help = (
        "Create the seed's providers, models, routing rules and the haiku rollout where "
        "missing (never overwrites edits)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from canary.actions import ensure_default_rollouts

        created = seed_defaults()
        rollouts = ensure_default_rollouts()
        self.stdout.write(
            f"registry seeded: {created['providers']} provider(s), {created['models']} model(s), "
            f"{created['rules']} rule(s), {len(rollouts)} rollout(s) created"
        )
