"""manage.py load_benchmark_suites: the shipped cases and default thresholds into the database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmarks.actions import load_suites
from benchmarks.suites import SuiteError


class Command(BaseCommand):
    help = ("Load the benchmark cases shipped in benchmarks/suites/ (and the default verdict "
            "thresholds). Existing cases keep their admin edits unless --update is given.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--update", action="store_true",
                            help="overwrite shipped cases with their file definitions")

    def handle(self, *args: Any, update: bool, **options: Any) -> None:
        try:
            counts = load_suites(update=update)
        except SuiteError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"{counts['created']} case(s) created, {counts['updated']} updated, "
                          f"{counts['kept']} kept as they are.")
