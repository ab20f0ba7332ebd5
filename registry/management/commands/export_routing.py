from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from registry.actions import export_routing


class Command(BaseCommand):
    help = "Export the routing rules as the seed's JSON (shaped like the last imported file)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", type=Path, help="write here instead of stdout")
        parser.add_argument(
            "--all", action="store_true", dest="all_sections",
            help="write every section, also those the last imported file did not have",
        )

    def handle(self, *args: Any, output: Path | None, all_sections: bool, **options: Any) -> None:
        text = export_routing(all_sections=all_sections)
        if output:
            output.write_text(text, encoding="utf-8")
            self.stderr.write(f"wrote {output}")
        else:
            self.stdout.write(text, ending="")
