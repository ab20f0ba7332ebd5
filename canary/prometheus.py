"""GET /metrics: Prometheus metrics computed from the database at each scrape.

Why from the database rather than counters incremented in each process: calls
are recorded by every process that makes them (ASGI replicas, the django-q
cluster, applications using the client in-process, remote clients posting
batches), and most of those processes serve no /metrics. The rollups already
hold every attempt, cluster-wide. So every replica answers the same numbers, and
Prometheus may scrape any one of them (behind the load balancer is fine; do not
`sum()` over replicas).

Counters count since 00:00 UTC (their `_created` timestamp): a scrape reads at
most a day of hourly rollups plus the minutes not yet rolled up, a bounded cost
whatever the traffic. `rate()` and `increase()` treat the reset at midnight like
a process restart.

Latency histograms come from the rollups' 5% latency buckets: a rollup bucket
is counted under the first `le` at or above its upper edge, so a bucket's
count errs low by at most 5% of latency, and `_sum` is estimated from bucket
midpoints (within 2.5%).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from canary import hourly, rollups
from canary.models import MetricLoss, ProviderHealth, RequestMetric, Rollout, RolloutStatus

LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
PROBLEMS = {"json_invalid": "json_invalid", "think_leak": "think_leaks",
            "empty_or_truncated": "empty_or_truncated"}


class DatabaseCollector(Collector):
    """Counters, histograms and gauges read from the rollups, rollouts and registry."""

    def describe(self) -> list[object]:
        return []  # no collect() at registration: that would query at import time

    def collect(self, now: datetime | None = None) -> Iterator[object]:
        now = now or timezone.now()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        created = midnight.timestamp()
        arm = ["tier", "routed_to"]
        requests = CounterMetricFamily(
            "llmcontrol_requests", "LLM attempts since 00:00 UTC, by outcome.",
            labels=[*arm, "outcome"])
        tokens = CounterMetricFamily(
            "llmcontrol_tokens", "Tokens of LLM attempts since 00:00 UTC.",
            labels=[*arm, "direction"])
        problems = CounterMetricFamily(
            "llmcontrol_answer_problems", "Successful answers with a quality problem since "
            "00:00 UTC (json_invalid: of those that asked for JSON).", labels=[*arm, "problem"])
        latency = HistogramMetricFamily(
            "llmcontrol_request_latency_seconds",
            "Latency of successful LLM attempts since 00:00 UTC (from 5% rollup buckets).",
            labels=arm)

        totals: dict[tuple[str, str], hourly.Bucket] = {}
        histograms: dict[tuple[str, str], list[dict[str, int]]] = defaultdict(list)
        for bucket in hourly.hours(midnight, now):
            key = (bucket.tier, bucket.routed_to)
            total = totals.setdefault(key, hourly.Bucket(midnight, *key))
            for name in hourly.COUNTS:
                setattr(total, name, getattr(total, name) + getattr(bucket, name))
            histograms[key].append(bucket.histogram)
        for (tier, routed_to), total in sorted(totals.items()):
            labels = [tier, routed_to]
            requests.add_metric([*labels, "success"], total.successes, created=created)
            requests.add_metric([*labels, "error"], total.errors, created=created)
            tokens.add_metric([*labels, "input"], total.input_tokens, created=created)
            tokens.add_metric([*labels, "output"], total.output_tokens, created=created)
            for problem, field in PROBLEMS.items():
                problems.add_metric([*labels, problem], getattr(total, field), created=created)
            buckets, estimated_sum = _latency_buckets(histograms[(tier, routed_to)])
            latency.add_metric(labels, buckets, estimated_sum)
        yield from (requests, tokens, problems, latency)
        yield _provider_retries(midnight, created)
        yield _metric_losses(midnight, created)
        yield from _rollout_gauges()


def _provider_retries(midnight: datetime, created: float) -> CounterMetricFamily:
    retries = CounterMetricFamily(
        "llmcontrol_provider_retries",
        "Provider retries (after a 429, 5xx or cut) since 00:00 UTC, by provider and model.",
        labels=["provider", "model"])
    # Read from the raw rows, not the rollups (which have no provider): the partial index
    # metric_retried_time holds only the rows with a retry, a few among millions.
    totals = (RequestMetric.objects.filter(created_at__gte=midnight, retries__gt=0)
              .values("provider", "model").annotate(total=Sum("retries"))
              .order_by("provider", "model"))
    for row in totals:
        retries.add_metric([row["provider"], row["model"]], row["total"], created=created)
    return retries


def _metric_losses(midnight: datetime, created: float) -> CounterMetricFamily:
    dropped = CounterMetricFamily(
        "llmcontrol_metric_records_dropped",
        "Metric records processes could not keep (buffer full while the database was "
        "unreachable), reported since 00:00 UTC, by process.", labels=["source"])
    losses = (MetricLoss.objects.filter(reported_at__gte=midnight).values("source")
              .annotate(total=Sum("dropped")).order_by("source"))
    for loss in losses:
        dropped.add_metric([loss["source"]], loss["total"], created=created)
    return dropped


def _latency_buckets(histograms: list[dict[str, int]]) -> tuple[list[tuple[str, float]], float]:
    merged = rollups.merge_histograms(histograms)
    cumulative = [0] * (len(LATENCY_BUCKETS_S) + 1)
    estimated_sum = 0.0
    for index, count in merged:
        upper_s = rollups.LATENCY_EDGES[index] / 1000
        lower_s = rollups.LATENCY_EDGES[index - 1] / 1000 if index else 0.0
        estimated_sum += count * (math.sqrt(upper_s * lower_s) if index else upper_s)
        position = next((i for i, le in enumerate(LATENCY_BUCKETS_S) if upper_s <= le),
                        len(LATENCY_BUCKETS_S))
        cumulative[position] += count
    running, buckets = 0, []
    for le, count in zip([*map(str, LATENCY_BUCKETS_S), "+Inf"], cumulative, strict=True):
        running += count
        buckets.append((le, float(running)))
    return buckets, estimated_sum


def _rollout_gauges() -> Iterator[object]:
    from registry.actions import current_version

    stage = GaugeMetricFamily("llmcontrol_rollout_stage_percent",
                              "Share of the tier's traffic routed to its local candidate (%).",
                              labels=["tier"])
    status = GaugeMetricFamily("llmcontrol_rollout_status",
                               "1 for the rollout's current status, 0 for the others.",
                               labels=["tier", "status"])
    for tier, current_stage, current_status in Rollout.objects.values_list(
            "tier", "stage", "status"):
        stage.add_metric([tier], current_stage)
        for value in RolloutStatus.values:
            status.add_metric([tier, value], 1 if value == current_status else 0)
    health = GaugeMetricFamily("llmcontrol_local_provider_up",
                               "Last health check of each local provider (1 up, 0 down).",
                               labels=["provider"])
    for provider, ok in ProviderHealth.objects.values_list("provider__key", "ok"):
        health.add_metric([provider], 1 if ok else 0)
    version = GaugeMetricFamily("llmcontrol_registry_version",
                                "Registry version: moves on every routing-relevant change.",
                                value=current_version())
    yield from (stage, status, health, version)


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(DatabaseCollector())


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus exposition. Needs a valid API key (Bearer) or a staff session."""
    if not _allowed(request):
        return HttpResponse("Prometheus metrics need `Authorization: Bearer <API key>` "
                            "(any scope) or an admin session.\n", status=401,
                            content_type="text/plain; charset=utf-8",
                            headers={"WWW-Authenticate": 'Bearer realm="llmcontrol"'})
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(REGISTRY), content_type=content_type)


def _allowed(request: HttpRequest) -> bool:
    from llmcontrol.api.keys import bearer_token, key_cache

    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    token = bearer_token(request.headers.get("Authorization", ""))
    return token is not None and key_cache.authenticate(token) is not None
