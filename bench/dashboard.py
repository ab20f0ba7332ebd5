"""The control room over 1,000,000 RequestMetric rows in PostgreSQL: server time per page.

    .venv/bin/python bench/dashboard.py          (first run loads the rows: ~30 s)

Its own database (`llmcontrol_bench_dashboard`, on the server of DATABASE_URL
when set), so that it never fights the 10-million-row gate benchmark for one.

The rows span 7 days (one attempt every 605 ms): 60% haiku, 30% sonnet, 10%
opus. The haiku rollout went 5% → 25% → 50% (7 d, 4 d and 1 d ago), local rows
fail 2.5%, 1 in 53 cloud rows is a fallback. Per-minute rollups are built in
one SQL statement (as the metric sink would have written them), then the
scheduled `roll_up_closed_hours` stores the closed hours.

Each page is requested through Django's test client (the whole request: session,
middleware, view, queries, template, chart), 3 warm-up requests then 15 timed:
server time, without the network.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
_server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x").rsplit("/", 1)[0]
os.environ["DATABASE_URL"] = f"{_server}/llmcontrol_bench_dashboard"

from _setup import setup_database  # noqa: E402

setup_database()

from datetime import timedelta  # noqa: E402

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from canary import actions, hourly  # noqa: E402
from canary.models import HourlyRollup, MetricRollup, RequestMetric, Rollout, Transition  # noqa: E402
from registry.actions import seed_defaults  # noqa: E402
from registry.models import Model  # noqa: E402

ROWS = 1_000_000

LOAD = f"""
INSERT INTO canary_requestmetric (created_at, request_id, attempt, tier, provider, model, routed_to,
    bucket, stage, success, error_type, latency_ms, ttft_ms, input_tokens, output_tokens,
    json_requested, json_valid, think_leaked, empty_answer, finish_reason, streamed, purpose,
    sub_agent, phase, source)
SELECT ts, md5(g::text), CASE WHEN arm = 'fallback' THEN 1 ELSE 0 END, tier,
       CASE WHEN arm = 'local' THEN 'llamacpp-local' ELSE 'anthropic' END,
       CASE WHEN arm = 'local' THEN 'smollm2-135m-instruct'
            WHEN tier = 'haiku' THEN 'claude-haiku-3-5-20241022' ELSE 'claude-' || tier END,
       arm, bucket, stage, ok,
       CASE WHEN ok THEN '' WHEN g % 3 = 0 THEN 'timeout' ELSE 'server_error' END,
       CASE WHEN arm = 'local' THEN 350 * exp(r * 1.4) ELSE 600 * exp(r * 1.1) END,
       100 + r * 200,
       CASE WHEN ok THEN 300 + g % 900 ELSE 0 END, CASE WHEN ok THEN 40 + g % 260 ELSE 0 END,
       g % 3 = 0, CASE WHEN ok AND g % 3 = 0 THEN r > 0.015 END,
       ok AND arm = 'local' AND g % 211 = 0, false, CASE WHEN ok THEN 'stop' ELSE '' END, false,
       'classification', '', '', 'bench'
FROM generate_series(1, {ROWS}) AS g,
     LATERAL (SELECT now() - g * interval '604.8 milliseconds' AS ts, random() AS r,
                     (g::bigint * 7919) % 10000 AS bucket,
                     CASE WHEN g % 10 < 6 THEN 'haiku' WHEN g % 10 < 9 THEN 'sonnet'
                          ELSE 'opus' END AS tier) AS a,
     LATERAL (SELECT CASE WHEN tier <> 'haiku' THEN 0
                          WHEN ts < now() - interval '4 days' THEN 5
                          WHEN ts < now() - interval '1 day' THEN 25 ELSE 50 END AS stage) AS b,
     LATERAL (SELECT CASE WHEN tier = 'haiku' AND bucket < stage * 100 THEN 'local'
                          WHEN tier = 'haiku' AND g % 53 = 0 THEN 'fallback'
                          ELSE 'cloud' END AS arm) AS c,
     LATERAL (SELECT random() > CASE WHEN arm = 'local' THEN 0.025 ELSE 0.012 END AS ok) AS d
"""

# The per-minute rollups the metric sink writes with each batch (canary.rollups), in one
# statement for the bulk-loaded rows, as bench/gate_evaluation.py builds them. Bucket i
# holds latencies in (1.05^(i-1), 1.05^i] ms, as rollups.bucket_of computes it.
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


def load() -> None:
    # Rows are timed relative to now(): reload when they are more than an hour old, so
    # that the windows measured are full of traffic.
    newest = RequestMetric.objects.order_by("-created_at").values_list("created_at", flat=True)
    fresh = newest.first()
    if RequestMetric.objects.count() == ROWS and fresh and timezone.now() - fresh < timedelta(
            hours=1):
        return
    print(f"loading {ROWS:,} metric rows and their rollups...", flush=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE canary_requestmetric, canary_metricrollup, canary_hourlyrollup")
        cursor.execute(LOAD)
        cursor.execute(ROLLUP)
        cursor.execute("VACUUM ANALYZE canary_requestmetric")
        cursor.execute("VACUUM ANALYZE canary_metricrollup")
    print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)


def set_up_rollout() -> None:
    now = timezone.now()
    with transaction.atomic():
        seed_defaults()
        Rollout.objects.all().delete()
        rollout = actions.create_rollout(
            "haiku", actor="bench",
            candidate=Model.objects.get(model_key="smollm2-135m-instruct"),
            baseline=Model.objects.get(model_key="claude-haiku-3-5-20241022"))
        for before, after, hours_ago in ((0, 5, 7 * 24 - 1), (5, 25, 4 * 24), (25, 50, 24)):
            t = Transition.objects.create(
                rollout=rollout, from_stage=before, to_stage=after, from_status="rolling",
                to_status="rolling", reason="manual", actor="bench", note="bench history")
            Transition.objects.filter(pk=t.pk).update(created_at=now - timedelta(hours=hours_ago))
        Rollout.objects.filter(pk=rollout.pk).update(
            stage=50, status="rolling", stage_entered_at=now - timedelta(hours=24))
        User.objects.filter(username="bench").delete()
        User.objects.create_superuser("bench", "bench@example.com", "bench")


def timed(client: Client, url: str, repeat: int = 15) -> tuple[float, float, int, int]:
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], len(queries), len(
        response.content)


PAGES = [
    ("control room overview", "/admin/canary/rollout/dashboard/"),
    ("tier page, 1 h window", "/admin/canary/rollout/dashboard/haiku/?window=1h"),
    ("tier page, 24 h window", "/admin/canary/rollout/dashboard/haiku/?window=24h"),
    ("tier page, 7 d window", "/admin/canary/rollout/dashboard/haiku/?window=7d"),
    ("confirmation page (pause)", "/admin/canary/rollout/dashboard/haiku/pause/"),
    ("metrics browser, no filter", "/admin/canary/requestmetric/"),
    ("metrics browser, tier + arm",
     "/admin/canary/requestmetric/?tier=haiku&routed_to__exact=local"),
    ("metrics browser, errors of the last 24 h",
     "/admin/canary/requestmetric/?success__exact=0&since=24h"),
    ("metrics browser, error type timeout", "/admin/canary/requestmetric/?error_type=timeout"),
    ("metrics browser, local model, 7 d",
     "/admin/canary/requestmetric/?model=smollm2-135m-instruct&since=7d"),
    ("metrics browser, a model with no rows (worst case)",
     "/admin/canary/requestmetric/?model=gpt-4o-mini"),
    ("metrics browser, page 50", "/admin/canary/requestmetric/?p=50"),
    ("metrics browser, search by request id",
     "/admin/canary/requestmetric/?q=c4ca4238a0b923820dcc509a6f75849b"),  # md5('1')
    ("/metrics (Prometheus)", "/metrics"),
]


def main() -> None:
    load()
    set_up_rollout()
    settings.ALLOWED_HOSTS.append("testserver")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('canary_requestmetric'))")
        (size,) = cursor.fetchone()
    print(f"{RequestMetric.objects.count():,} metric rows ({size} with indexes), "
          f"{MetricRollup.objects.count():,} minute rollups")

    client = Client()
    client.force_login(User.objects.get(username="bench"))

    HourlyRollup.objects.all().delete()
    cold = timed(client, PAGES[3][1], repeat=3)
    started = time.perf_counter()
    stored = hourly.roll_up_closed_hours()
    filled_s = time.perf_counter() - started
    print(f"roll_up_closed_hours(): {stored:,} hourly rows for 7 days in {filled_s:.2f} s "
          f"(first run; then each 5-minute run stores the hour just closed)")
    print(f"7 d tier page before any hour is stored (schedule never ran): median "
          f"{cold[0]:.0f} ms\n")

    print("| page | median | p95 | queries | size |")
    print("|---|---|---|---|---|")
    for label, url in PAGES:
        median, p95, queries, size = timed(client, url)
        print(f"| {label} | {median:.0f} ms | {p95:.0f} ms | {queries} | {size / 1024:.0f} KiB |",
              flush=True)
    from io import StringIO

    from django.core.management import call_command

    samples = []
    for _ in range(5):
        started = time.perf_counter()
        call_command("savings", "--since", "7d", stdout=StringIO())
        samples.append((time.perf_counter() - started) * 1000)
    print(f"| `manage.py savings --since 7d` (in process) | {statistics.median(samples):.0f} ms "
          f"| {max(samples):.0f} ms | | |")


if __name__ == "__main__":
    main()
