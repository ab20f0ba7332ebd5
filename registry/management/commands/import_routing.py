from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from llmcontrol.routing.document import DocumentError, parse
from registry.actions import import_routing


class Command(BaseCommand):
    help = (
        "Import the seed's routing file (phaseOverrides, defaults, purposes, defaultTier). "
        "All or nothing: a bad file writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the routing JSON file")

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: cannot read: {exc}") from None
        try:
            counts = import_routing(parse(text))
        except DocumentError as exc:
            raise CommandError(f"{path}: {exc}; nothing imported") from None
        except ValidationError as exc:
            raise CommandError(f"{path}: {' '.join(exc.messages)}; nothing imported") from None
        summary = ", ".join(f"{n} {section}" for section, n in counts.items())
        self.stdout.write(f"imported {path}: {summary}")
