"""Gate evaluation over 10 million RequestMetric rows in PostgreSQL.

    .venv/bin/python bench/gate_evaluation.py            (first run loads the rows: ~2-4 min)

The table holds 10,000,000 attempts spread over ~7 days (one every 60 ms,
~16.7 requests/s): 60% haiku (a quarter of it local at stage 25), 30% sonnet,
10% opus. The gates judge the whole stage so far; evaluation reads the stage's
per-minute rollups (one row per arm and minute), so its cost grows with the
stage's age in minutes, not with traffic: measured for a stage 1 h, 24 h and
7 days old.
"""

import time

from _setup import measure, setup_database, show

setup_database()

from datetime import timedelta  # noqa: E402

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from canary import actions  # noqa: E402
from canary.evaluation import collect, gate_evidence  # noqa: E402
from canary.models import MetricRollup, RequestMetric, Rollout  # noqa: E402
from registry.actions import seed_defaults  # noqa: E402
from registry.models import Model  # noqa: E402

ROWS = 10_000_000
SPACING_MS = 60

LOAD = f"""
INSERT INTO canary_requestmetric (created_at, request_id, attempt, tier, provider, model, routed_to,
    bucket, stage, success, error_type, latency_ms, ttft_ms, input_tokens, output_tokens,
    json_requested, json_valid, think_leaked, empty_answer, finish_reason, streamed, purpose,
    sub_agent, phase, source)
SELECT now() - g * interval '{SPACING_MS} milliseconds', md5(g::text), 0,
       t.tier,
       CASE WHEN t.tier = 'haiku' AND g % 4 = 0 THEN 'llamacpp-local' ELSE 'anthropic' END,
       CASE WHEN t.tier = 'haiku' AND g % 4 = 0 THEN 'smollm2-135m-instruct'
            WHEN t.tier = 'haiku' THEN 'claude-haiku-3-5-20241022'
            ELSE 'claude-' || t.tier END,
       CASE WHEN t.tier = 'haiku' AND g % 4 = 0 THEN 'local' ELSE 'cloud' END,
       g % 10000, 25, ok, CASE WHEN ok THEN '' ELSE 'server_error' END,
       200 + random() * 300, 50 + random() * 50, 800, 120,
       g % 3 = 0, CASE WHEN g % 3 = 0 THEN random() > 0.01 END, false, false, 'stop', false,
       'classification', '', '', 'bench'
FROM generate_series(1, {ROWS}) AS g,
     LATERAL (SELECT CASE WHEN g % 10 < 6 THEN 'haiku' WHEN g % 10 < 9 THEN 'sonnet'
                          ELSE 'opus' END AS tier, random() > 0.02 AS ok) AS t
"""

# The same per-minute rollups the metric sink writes with each batch (canary.rollups),
# built here in one statement for the bulk-loaded rows. Bucket i holds latencies in
# (1.05^(i-1), 1.05^i] ms: ceil(ln x / ln 1.05), as rollups.bucket_of computes it.
ROLLUP = """
INSERT INTO canary_metricrollup (minute, tier, routed_to, model, stage, requests, errors,
    json_requested, json_invalid, think_leaks, empty_or_truncated, input_tokens, output_tokens,
    latency_histogram)
SELECT minute, tier, routed_to, model, stage, sum(n), sum(errors), sum(json_requested),
       sum(json_invalid), sum(think_leaks), sum(empty_or_truncated), sum(input_tokens),
       sum(output_tokens),
       COALESCE(jsonb_object_agg(bucket::text, n - errors) FILTER (WHERE bucket IS NOT NULL),
                '{}'::jsonb)
FROM (
    SELECT date_trunc('minute', created_at) AS minute, tier, routed_to, model, stage,
           CASE WHEN success THEN LEAST(GREATEST(
               CEIL(LN(GREATEST(latency_ms, 1e-9)) / LN(1.05)), 0), 380)::int END AS bucket,
           count(*) AS n, count(*) FILTER (WHERE NOT success) AS errors,
           count(*) FILTER (WHERE success AND json_requested) AS json_requested,
           count(*) FILTER (WHERE success AND json_requested AND json_valid = false)
               AS json_invalid,
           count(*) FILTER (WHERE success AND think_leaked) AS think_leaks,
           count(*) FILTER (WHERE success AND (empty_answer OR finish_reason = 'length'))
               AS empty_or_truncated,
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
    FROM canary_requestmetric
    GROUP BY 1, 2, 3, 4, 5, 6
) AS per_bucket
GROUP BY minute, tier, routed_to, model, stage
"""

if RequestMetric.objects.count() != ROWS:
    print(f"loading {ROWS:,} metric rows (once)...", flush=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE canary_requestmetric, canary_metricrollup")
        cursor.execute(LOAD)
        cursor.execute("VACUUM ANALYZE canary_requestmetric")
    print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
if not MetricRollup.objects.exists():
    print("building the per-minute rollups (once)...", flush=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(ROLLUP)
        cursor.execute("VACUUM ANALYZE canary_metricrollup")
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)

with transaction.atomic():
    seed_defaults()
    Rollout.objects.all().delete()
    rollout = actions.create_rollout(
        "haiku", actor="bench", candidate=Model.objects.get(model_key="smollm2-135m-instruct"),
        baseline=Model.objects.get(model_key="claude-haiku-3-5-20241022"))
    Rollout.objects.filter(pk=rollout.pk).update(
        stage=25, status="rolling", stage_entered_at=timezone.now() - timedelta(days=8))
rollout = Rollout.objects.select_related("candidate", "baseline").get(pk=rollout.pk)

with connection.cursor() as cursor:
    cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('canary_requestmetric')), "
                   "pg_size_pretty(pg_total_relation_size('canary_metricrollup'))")
    size, rollup_size = cursor.fetchone()
print(f"{RequestMetric.objects.count():,} rows in canary_requestmetric ({size} with indexes); "
      f"{MetricRollup.objects.count():,} rollup rows ({rollup_size})")

for minutes in (60, 24 * 60, 7 * 24 * 60):
    Rollout.objects.filter(pk=rollout.pk).update(
        stage_entered_at=timezone.now() - timedelta(minutes=minutes))
    rollout.refresh_from_db()
    candidate, baseline, _ = collect(rollout)
    print(f"\nstage {minutes} min old: candidate {candidate.requests:,} rows, "
          f"baseline {baseline.requests:,} rows")
    show(f"gate_evidence() (all gates, stage {minutes} min old)",
         measure(lambda: gate_evidence(rollout), repeat=20, warmup=2))
    print(f"  verdict: {gate_evidence(rollout)['summary']}")
