"""manage.py create_api_key --name NAME [--scope route|admin]: a key for the API and gateway."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.models import ApiKey, ApiKeyScope


class Command(BaseCommand):
    help = ("Create an API key and print it once (only its hash is stored). Scope route: routing, "
            "routing table, metrics, gateway, reads; admin: also rollout changes.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="who or what uses the key")
        parser.add_argument("--scope", choices=ApiKeyScope.values, default=ApiKeyScope.ROUTE)
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, name: str, scope: str, **options: Any) -> None:
        if not name.strip():
            raise CommandError("--name must not be empty")
        try:
            key, raw = ApiKey.create(name.strip(), scope)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        if options["json"]:
            self.stdout.write(json.dumps({"name": key.name, "scope": key.scope,
                                          "prefix": key.prefix, "key": raw}))
            return
        self.stdout.write(f"API key {key.prefix}… ({key.scope}) for {key.name}:\n\n    {raw}\n\n"
                          "Shown only this once. Use it as `Authorization: Bearer <key>`, "
                          "LLMCONTROL_API_KEY, or the OpenAI SDK's api_key.")
