from typing import Any

from django.core.management.base import BaseCommand

from canary.schedules import SCHEDULES, reconcile


class Command(BaseCommand):
    help = "Create or update llmcontrol's django-q2 schedules (run after migrate)."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = reconcile()
        self.stdout.write(f"schedules: {counts['created']} created, {counts['updated']} updated, "
                          f"{counts['removed']} removed ({len(SCHEDULES)} declared)")
