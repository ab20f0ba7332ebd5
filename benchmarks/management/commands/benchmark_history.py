"""manage.py benchmark_history: every stored run as Markdown (the seed's BENCHMARK_HISTORY.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmarks import report
from benchmarks.exports import run_export
from benchmarks.management.commands.benchmark import check_writable
from benchmarks.models import BenchmarkRun


class Command(BaseCommand):
    help = "Write the benchmark history (every stored run, newest first) as Markdown."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", type=Path, help="write here instead of stdout")
        parser.add_argument("--limit", type=int, default=50, help="newest N runs (default 50)")

    def handle(self, *args: Any, output: Path | None, limit: int, **options: Any) -> None:
        if limit <= 0:
            raise CommandError(f"--limit must be at least 1, got {limit}")
        if output is not None:
            check_writable(output)
        runs = [run_export(run, calls=False) for run in BenchmarkRun.objects.all()[:limit]]
        text = report.history_markdown(runs)
        if output is None:
            self.stdout.write(text, ending="")
            return
        output.write_text(text, encoding="utf-8")
        self.stderr.write(f"wrote {output} ({len(runs)} run(s))")
