"""Shared setup for benchmarks that need the database: a dedicated PostgreSQL database."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmcontrol.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/llmcontrol_bench")


def setup_database() -> None:
    """Create the bench database if needed, migrate it, and empty the registry."""
    import django
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    if url.startswith("postgres"):
        admin_url = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def measure(fn: Callable[[], object], *, repeat: int, warmup: int = 10) -> dict[str, float]:
    """Per-call wall time in microseconds: median, p95, mean over `repeat` timed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    return {
        "median_us": statistics.median(samples),
        "p95_us": samples[int(len(samples) * 0.95) - 1],
        "mean_us": statistics.fmean(samples),
        "n": len(samples),
    }


def show(label: str, result: dict[str, float]) -> None:
    print(f"{label:<58} median {result['median_us']:>10.2f} µs   p95 {result['p95_us']:>10.2f} µs"
          f"   (n={result['n']})")
