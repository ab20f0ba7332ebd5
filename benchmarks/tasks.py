"""django-q2 task functions. Runs are queued by `benchmarks.actions.queue_run`."""

from __future__ import annotations

import logging

from benchmarks import actions
from benchmarks.models import BenchmarkRun

logger = logging.getLogger(__name__)


def run_benchmark(run_id: int) -> str:
    """Execute a queued run. A second delivery of the same task (the broker re-offers
    tasks that outlive its retry window) finds the run already claimed and returns."""
    if not actions.claim(run_id):
        logger.info("benchmark run %s is not queued any more; nothing to do", run_id)
        return "not queued"
    run = actions.execute_run(BenchmarkRun.objects.get(pk=run_id))
    return f"run {run.pk}: {run.status}, {run.results.count()} result(s)"
