"""The metrics browser: filters on every dimension, no COUNT(*) or DISTINCT over the table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from canary.admin import RequestMetricAdmin
from canary.models import RequestMetric, Rollout
from tests.dashboard.conftest import Writer

URL = "/admin/canary/requestmetric/"


@pytest.fixture
def mixed_metrics(rollout_at_25: Rollout, write_metric: Writer) -> Rollout:
    now = timezone.now()
    write_metric(now - timedelta(minutes=5), "local")
    write_metric(now - timedelta(minutes=4), "local", success=False, error_type="timeout")
    write_metric(now - timedelta(minutes=3), "cloud")
    write_metric(now - timedelta(minutes=2), "fallback", success=False,
                 error_type="rate_limited")
    write_metric(now - timedelta(hours=3), "cloud", tier="sonnet", stage=0,
                 provider="anthropic", model="claude-sonnet-4")
    write_metric(now - timedelta(days=3), "local")
    return rollout_at_25


def shown(client: Client, query: str = "") -> list[tuple[str, str, bool, str]]:
    response = client.get(URL + query)
    assert response.status_code == 200, query
    return [(m.tier, m.routed_to, m.success, m.error_type)
            for m in response.context["cl"].result_list]


@pytest.mark.parametrize(("query", "expected"), [
    ("", [("haiku", "fallback", False, "rate_limited"), ("haiku", "cloud", True, ""),
          ("haiku", "local", False, "timeout"), ("haiku", "local", True, ""),
          ("sonnet", "cloud", True, ""), ("haiku", "local", True, "")]),
    ("?tier=sonnet", [("sonnet", "cloud", True, "")]),
    ("?routed_to__exact=local&since=1h", [("haiku", "local", False, "timeout"),
                                          ("haiku", "local", True, "")]),
    ("?success__exact=0", [("haiku", "fallback", False, "rate_limited"),
                           ("haiku", "local", False, "timeout")]),
    ("?error_type=timeout", [("haiku", "local", False, "timeout")]),
    ("?model=claude-sonnet-4", [("sonnet", "cloud", True, "")]),
    ("?stage=0", [("sonnet", "cloud", True, "")]),
    ("?since=24h&tier=haiku&routed_to__exact=cloud", [("haiku", "cloud", True, "")]),
])
def test_filters(admin_client: Client, mixed_metrics: Rollout, query: str,
                 expected: list) -> None:
    assert shown(admin_client, query) == expected


def test_no_query_counts_or_lists_distinct_values_of_the_metric_table(
    admin_client: Client, mixed_metrics: Rollout, django_assert_num_queries
) -> None:
    query = "?tier=haiku&routed_to__exact=local&success__exact=1&since=7d"
    with CaptureQueriesContext(connection) as captured:
        admin_client.get(URL + query)
    on_metrics = [q["sql"] for q in captured.captured_queries
                  if "canary_requestmetric" in q["sql"]]
    assert len(on_metrics) == 1  # the page of rows, nothing else
    assert "COUNT(" not in on_metrics[0] and "DISTINCT" not in on_metrics[0]
    with django_assert_num_queries(4):  # session, user, registry model keys, the rows
        admin_client.get(URL + query)


def test_pages_go_newer_and_older_without_counting(
    admin_client: Client, mixed_metrics: Rollout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RequestMetricAdmin, "list_per_page", 4)
    first = admin_client.get(URL).content.decode()
    assert "page 1" in first and "older &rarr;" in first and "newer" not in first
    assert "10000000" not in first and "10,000,000" not in first
    second = admin_client.get(URL + "?p=2")
    assert [m.tier for m in second.context["cl"].result_list] == ["sonnet", "haiku"]
    html = second.content.decode()
    assert "&larr; newer" in html and "(the last)" in html


def test_unknown_filter_values_show_nothing_and_change_nothing(
    admin_client: Client, mixed_metrics: Rollout
) -> None:
    assert shown(admin_client, "?tier=gpt5") == []
    assert RequestMetric.objects.count() == 6


def test_the_dashboard_links_the_browser_for_its_tier(admin_client: Client,
                                                      mixed_metrics: Rollout) -> None:
    html = admin_client.get(reverse("admin:canary_dashboard_tier", args=["haiku"])).content
    assert b"/admin/canary/requestmetric/?tier=haiku&amp;since=24h" in html


def test_search_finds_every_attempt_of_a_call_by_its_exact_request_id(
    admin_client: Client, mixed_metrics: Rollout
) -> None:
    request_id = RequestMetric.objects.filter(routed_to="fallback").get().request_id
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(URL + f"?q={request_id}")
    assert [m.request_id for m in response.context["cl"].result_list] == [request_id]
    rows_query = next(q["sql"] for q in captured.captured_queries
                      if "FROM \"canary_requestmetric\"" in q["sql"])
    # Equality on the metric_request index, not the admin's UPPER(...) LIKE scan.
    assert f"\"canary_requestmetric\".\"request_id\" = '{request_id}'" in rows_query
    assert "UPPER" not in rows_query
    assert shown(admin_client, "?q=nope") == []
