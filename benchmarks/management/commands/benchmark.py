"""manage.py benchmark: measure models on the shipped suites, store and print the results."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from benchmarks import actions, report
from benchmarks.exports import run_export
from benchmarks.runner import CallOutcome


def comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def check_writable(path: Path) -> None:
    """Refuse an output file that cannot be written before the run, not after an hour of it."""
    if path.is_dir():
        raise CommandError(f"cannot write {path}: it is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise CommandError(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CommandError(f"cannot write {path}: permission denied")


class Command(BaseCommand):
    help = ("Benchmark models (speed, classification, JSON, instruction following, and with "
            "--agents the agent workloads), store the run, print the table and verdicts. "
            "Bad input exits non-zero with the reason and stores nothing.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--models", type=comma_list, default=[],
                            help="comma-separated: model keys, provider/model references, or "
                                 "provider keys (default: every active local model)")
        parser.add_argument("--tasks", type=comma_list, default=[],
                            help="comma-separated categories (default: speed,classify,json,"
                                 "instruct)")
        parser.add_argument("--agents", action="store_true",
                            help="also run the agent workloads: rca, design, quickfix, schema, "
                                 "review")
        parser.add_argument("--iterations", type=int, default=3,
                            help="runs of every case, after one warm-up call (default 3)")
        parser.add_argument("--timeout", type=float, default=actions.DEFAULT_TIMEOUT_S,
                            help="per-case timeout in seconds (default 60)")
        parser.add_argument("--compare-to", default="",
                            help="a baseline model, run alongside and compared against")
        parser.add_argument("--output", type=Path, help="also write the run as JSON to this file")
        parser.add_argument("--verbose", action="store_true", help="print every call's outcome")
        parser.add_argument("--actor", default="cli", help="who is running it (recorded)")

    def handle(self, *args: Any, **o: Any) -> None:
        if o["output"] is not None:
            check_writable(o["output"])
        try:
            run = actions.create_run(models=o["models"], tasks=o["tasks"], agents=o["agents"],
                                     iterations=o["iterations"], compare_to=o["compare_to"],
                                     timeout_s=o["timeout"], actor=o["actor"])
        except actions.BenchmarkRefused as error:
            raise CommandError(str(error)) from None
        self.stderr.write(f"benchmark run {run.pk}: {', '.join(run.model_refs)}; "
                          f"{', '.join(run.tasks)}; {run.iterations} iteration(s), "
                          f"{run.progress_total} calls after one warm-up per model")
        # tqdm draws on the raw stream: Django's OutputWrapper would end each redraw in "\n".
        with tqdm(total=run.progress_total, file=self.stderr._out, unit="call",
                  dynamic_ncols=True, disable=None) as bar:
            def on_call(target: actions.Target, outcome: CallOutcome) -> None:
                bar.update(1)
                bar.set_postfix_str(f"{target.ref} {outcome.case_key}", refresh=False)
                if o["verbose"]:
                    bar.write(self.describe(target, outcome), file=self.stdout._out)
            # httpx logs every request at INFO: hundreds of lines through the progress bar.
            httpx_logger = logging.getLogger("httpx")
            level = httpx_logger.level
            httpx_logger.setLevel(max(level, logging.WARNING))
            try:
                run = actions.execute_run(run, on_call)
            except KeyboardInterrupt:
                raise CommandError(f"interrupted: run {run.pk} is stored as failed") from None
            finally:
                httpx_logger.setLevel(level)
        export = run_export(run)
        self.stdout.write(report.results_table(export["results"], run.tasks))
        for result in export["results"]:
            if result["verdict"]["reasons"]:
                self.stdout.write(f"{result['model']}: {'; '.join(result['verdict']['reasons'])}")
        if text := report.comparison(export["results"], run.tasks):
            self.stdout.write(text)
        self.stdout.write(f"Stored as benchmark run {run.pk} (chart and details in the admin).")
        if o["output"] is not None:
            try:
                o["output"].write_text(json.dumps(export, indent=2) + "\n", encoding="utf-8")
            except OSError as error:
                raise CommandError(f"run {run.pk} is stored, but {o['output']} could not be "
                                   f"written: {error.strerror}") from None
            self.stderr.write(f"wrote {o['output']}")

    @staticmethod
    def describe(target: actions.Target, c: CallOutcome) -> str:
        status = "PASS" if c.passed else ("ERROR" if c.errored else "FAIL")
        timing = f"{c.latency_ms:.0f} ms" if c.latency_ms is not None else "-"
        rate = f", {c.measured_tps:.1f} tok/s" if c.measured_tps else ""
        detail = f" — {c.reason}" if c.reason else ""
        answer = " ".join(c.answer.split())[:60]
        return (f"{target.ref} {c.case_key} #{c.iteration + 1}: {status} {timing}{rate} "
                f"{answer!r}{detail}")
