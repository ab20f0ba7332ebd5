"""GET /metrics: Prometheus exposition from the database, closed without a key or a session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from canary.hourly import roll_up_closed_hours
from canary.models import Rollout
from llmcontrol.api.keys import key_cache
from registry.actions import current_version
from registry.models import ApiKey, ApiKeyScope
from tests.dashboard.conftest import Writer

NOW = datetime.fromisoformat("2026-03-10T12:30:00+00:00")


@pytest.fixture(autouse=True)
def _no_cached_keys(settings: Any) -> Iterator[None]:
    settings.API_KEY_CACHE_SECONDS = 0
    key_cache.clear()
    yield
    key_cache.clear()


@pytest.fixture
def todays_metrics(rollout_at_25: Rollout, write_metric: Writer) -> Rollout:
    for minute, latency in enumerate((40.0, 90.0, 300.0, 700.0, 2000.0)):
        write_metric(NOW.replace(hour=9, minute=minute), "local", latency_ms=latency,
                     input_tokens=100, output_tokens=10)
    write_metric(NOW.replace(hour=9, minute=8), "local", success=False)
    write_metric(NOW.replace(hour=12, minute=1), "cloud", latency_ms=400.0,
                 json_requested=True, json_valid=False, input_tokens=50, output_tokens=5)
    write_metric(NOW - timedelta(days=1), "cloud")  # yesterday: not in today's counters
    return rollout_at_25


def scrape(client: Client, **headers: str) -> Any:
    with time_machine.travel(NOW, tick=False):
        return client.get("/metrics", **headers)


def families(response: Any) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(response.content.decode())}


def samples(family: Any, name: str | None = None) -> dict[tuple, float]:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples
            if name is None or s.name == name}


def test_without_a_key_or_a_session_it_answers_401(client: Client, todays_metrics: Rollout) -> None:
    response = scrape(client)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="llmcontrol"'
    assert scrape(client, HTTP_AUTHORIZATION="Bearer lc_nope_nope").status_code == 401


def test_counters_histograms_and_gauges_from_the_database(client: Client,
                                                          todays_metrics: Rollout) -> None:
    raw = ApiKey.create("prometheus", ApiKeyScope.ROUTE)[1]
    response = scrape(client, HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    found = families(response)
    assert samples(found["llmcontrol_requests"], "llmcontrol_requests_total") == {
        (("outcome", "success"), ("routed_to", "local"), ("tier", "haiku")): 5.0,
        (("outcome", "error"), ("routed_to", "local"), ("tier", "haiku")): 1.0,
        (("outcome", "success"), ("routed_to", "cloud"), ("tier", "haiku")): 1.0,
        (("outcome", "error"), ("routed_to", "cloud"), ("tier", "haiku")): 0.0,
    }
    tokens = samples(found["llmcontrol_tokens"], "llmcontrol_tokens_total")
    assert tokens[(("direction", "input"), ("routed_to", "local"), ("tier", "haiku"))] == 500.0
    problems = samples(found["llmcontrol_answer_problems"], "llmcontrol_answer_problems_total")
    assert problems[(("problem", "json_invalid"), ("routed_to", "cloud"), ("tier", "haiku"))] == 1
    buckets = {s.labels["le"]: s.value for s in found["llmcontrol_request_latency_seconds"].samples
               if s.name.endswith("_bucket") and s.labels["routed_to"] == "local"}
    # 40, 90, 300, 700 and 2000 ms, each in a 5% bucket counted under the next `le`.
    assert buckets == {"0.05": 1, "0.1": 2, "0.25": 2, "0.5": 3, "1.0": 4, "2.5": 5, "5.0": 5,
                       "10.0": 5, "30.0": 5, "60.0": 5, "+Inf": 5}
    assert samples(found["llmcontrol_rollout_stage_percent"]) == {(("tier", "haiku"),): 25.0}
    status = samples(found["llmcontrol_rollout_status"])
    assert status[(("status", "rolling"), ("tier", "haiku"))] == 1.0
    assert sum(status.values()) == 1.0
    assert samples(found["llmcontrol_registry_version"]) == {(): float(current_version())}


def test_stored_hours_give_the_same_numbers(client: Client, admin_client: Client,
                                            todays_metrics: Rollout) -> None:
    before = scrape(admin_client).content
    roll_up_closed_hours(now=NOW)  # stores 09:00 (12:00 is still open)
    assert scrape(admin_client).content == before


def test_counters_say_when_they_started(admin_client: Client, todays_metrics: Rollout) -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse

    response = scrape(admin_client, HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert response["Content-Type"].startswith("application/openmetrics-text")
    requests = next(f for f in parse(response.content.decode()) if f.name == "llmcontrol_requests")
    created = {s.value for s in requests.samples if s.name == "llmcontrol_requests_created"}
    assert created == {NOW.replace(hour=0, minute=0).timestamp()}  # counted since 00:00 UTC
