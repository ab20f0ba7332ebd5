"""`manage.py audit_llm_calls PATH`: every direct LLM call in a codebase, and what
migrating the cheap ones would save. The work is in `llmcontrol.audit`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from llmcontrol.audit import DEFAULT_ARCHIVE_DIRS, audit_tree, build_report, render


class Command(BaseCommand):
    help = (
        "Find direct LLM calls (Anthropic, OpenAI, Google GenAI, Ollama, LiteLLM, raw HTTP to "
        "provider endpoints; Python, JavaScript, TypeScript) under PATH, estimate each call's "
        "tier, and size the migration to the llmcontrol client."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="Folder (or single file) to scan.")
        parser.add_argument(
            "--exclude", action="append", default=[], metavar="GLOB",
            help="Skip files and folders whose relative path or name matches (repeatable). "
                 "node_modules, .venv, venv, .git, dist, build, __pycache__ and "
                 "site-packages are always skipped.",
        )
        parser.add_argument(
            "--archive-dir", action="append", dest="archive_dirs", metavar="NAME",
            help="Folder name whose sites count as archived (repeatable; default: "
                 f"{', '.join(DEFAULT_ARCHIVE_DIRS)}).",
        )
        parser.add_argument("--format", choices=("table", "json", "markdown"), default="table")
        parser.add_argument("--output", metavar="FILE", help="Write the report here.")
        parser.add_argument(
            "--calls-per-month", type=int, default=1_000, metavar="N",
            help="Assumed calls per month per call site, for the estimate (default 1000).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        root = Path(options["path"])
        if not root.exists():
            raise CommandError(f"{root}: no such file or directory")
        if options["calls_per_month"] < 0:
            raise CommandError("--calls-per-month cannot be negative")
        from llmcontrol.audit.estimates import load_assumptions

        result = audit_tree(root, excludes=options["exclude"],
                            archive_dirs=options["archive_dirs"] or DEFAULT_ARCHIVE_DIRS)
        report = build_report(result, load_assumptions(options["calls_per_month"]))
        text = render(report, options["format"])
        if options["output"]:
            try:
                Path(options["output"]).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"{options['output']}: {exc.strerror or exc}") from exc
            summary = report["summary"]
            self.stdout.write(
                f"Wrote the {options['format']} report to {options['output']}: "
                f"{summary['total_sites']} call sites, {summary['quick_wins']} quick wins."
            )
        else:
            self.stdout.write(text, ending="")
