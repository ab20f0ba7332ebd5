"""Snapshot build time with 500 models and 2,000 rules, and the per-call version check.

    make bench   (or: .venv/bin/python bench/registry_snapshot.py)

Runs against PostgreSQL (database llmcontrol_bench, created if missing).
"""

from _setup import measure, setup_database, show

setup_database()

from django.db import connection, transaction  # noqa: E402

from registry import actions  # noqa: E402
from registry.models import Model, Provider, RoutingRule  # noqa: E402
from registry.snapshot import SnapshotCache, build_snapshot  # noqa: E402
from tests.registry.bulk import add_models_and_rules  # noqa: E402

with transaction.atomic():
    RoutingRule.objects.all().delete()
    Model.objects.all().delete()
    Provider.objects.all().delete()
    actions.seed_defaults()
    add_models_and_rules(
        models=500 - Model.objects.count(), rules=2000 - RoutingRule.objects.count()
    )
    actions.bump_version()

snap = build_snapshot()
print(
    f"registry: {len(snap.models)} models, {RoutingRule.objects.count()} rules, "
    f"{len(snap.providers)} providers; database {connection.vendor}"
)
show("build_snapshot() (all queries + freezing)", measure(build_snapshot, repeat=50, warmup=3))
show(
    "version check (one SELECT of the registry version)",
    measure(actions.current_version, repeat=2000),
)
warm = SnapshotCache(poll_interval=3600)
warm.get()
show("get_snapshot() while fresh (no query)", measure(warm.get, repeat=200_000, warmup=1000))
polling = SnapshotCache(poll_interval=0.0)
polling.get()
show("get_snapshot() with a version check on every call", measure(polling.get, repeat=2000))
