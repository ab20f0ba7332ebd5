"""manage.py revoke_api_key PREFIX: stop an API key from working (within API_KEY_CACHE_SECONDS)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.models import ApiKey


class Command(BaseCommand):
    help = "Revoke an API key by its prefix (lc_xxxxxxxx, as listed in the admin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, prefix: str, **options: Any) -> None:
        key = ApiKey.objects.filter(prefix=prefix.rstrip("…")).first()
        if key is None:
            raise CommandError(f"no API key with prefix {prefix!r}")
        if not key.is_active:
            raise CommandError(f"{key} was already revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S}")
        key.revoke()
        self.stdout.write(f"{key} revoked")
