"""The control room pages: what they show, how many queries they make, bad input."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from canary.evaluation import gate_evidence
from canary.models import Rollout, Transition
from tests.rollouts.conftest import MetricMaker


@pytest.fixture
def busy_rollout(rollout_at_25: Rollout, add_metrics: MetricMaker) -> Rollout:
    add_metrics(rollout_at_25, "local", 300, error_rate=0.01, seed=1, ago_s=600,
                json_requested=True, json_valid=True)
    add_metrics(rollout_at_25, "cloud", 900, error_rate=0.01, seed=2, ago_s=600)
    Transition.objects.create(rollout=rollout_at_25, from_stage=5, to_stage=25,
                              from_status="rolling", to_status="rolling", reason="manual",
                              actor="alice", note="five percent looked fine")
    return rollout_at_25


def tier_url(tier: str = "haiku", **query: str) -> str:
    url = reverse("admin:canary_dashboard_tier", args=[tier])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.mark.parametrize("window", ["1h", "24h", "7d"])
def test_the_tier_page_shows_state_gates_in_words_charts_and_history(
    admin_client: Client, busy_rollout: Rollout, window: str
) -> None:
    response = admin_client.get(tier_url(window=window))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<strong id="stage">25% local</strong> · 75% cloud' in html
    assert '<span id="status" class="status status-rolling">rolling</span>' in html
    evidence = gate_evidence(busy_rollout)
    assert len(evidence["gates"]) == 6
    for gate in evidence["gates"]:
        assert escape(gate["sentence"]) in html
    assert escape(evidence["summary"]) in html
    chart = html[html.index('<div class="chart" id="charts">'):]
    assert chart.index("<svg") < chart.index("</svg>")
    assert "Requests per" in chart and "→ 25% (manual advance)" in chart
    assert "five percent looked fine" in html and "alice" in html
    assert "Claude Haiku 3.5" in html and "SmolLM2 135M Instruct" in html
    assert "Not benchmarked yet" in html
    assert "1200 attempts" in html


def test_the_tier_page_offers_the_actions_that_apply(admin_client: Client,
                                                     busy_rollout: Rollout) -> None:
    html = admin_client.get(tier_url()).content.decode()
    offered = [verb for verb in ("advance", "set-stage", "pause", "resume", "rollback")
               if f'id="action-{verb}"' in html]
    assert offered == ["advance", "set-stage", "pause", "rollback"]


def test_next_evaluation_comes_from_the_schedule(admin_client: Client,
                                                 busy_rollout: Rollout) -> None:
    html = admin_client.get(tier_url()).content.decode()
    assert "not scheduled: run `manage.py setup_schedules`" in html
    from django.core.management import call_command

    call_command("setup_schedules", verbosity=0)
    html = admin_client.get(tier_url()).content.decode()
    assert "rolls back on FAIL, otherwise holds" in html


@pytest.mark.parametrize(("window", "queries"), [("1h", 18), ("24h", 19), ("7d", 19)])
def test_the_tier_page_makes_a_fixed_number_of_queries(
    admin_client: Client, busy_rollout: Rollout, add_metrics: MetricMaker, window: str,
    queries: int, django_assert_num_queries
) -> None:
    # session and user 2; rollout 1; gates 4; health, schedule 2; benchmark cards 2;
    # transitions 1; chart buckets 2 (+1 hourly watermark); markers 1; savings 3.
    with django_assert_num_queries(queries):
        assert admin_client.get(tier_url(window=window)).status_code == 200
    add_metrics(busy_rollout, "local", 500, seed=3, ago_s=7200)  # more rows: same queries
    with django_assert_num_queries(queries):
        assert admin_client.get(tier_url(window=window)).status_code == 200


def test_stored_hours_cost_one_more_query_whatever_their_number(
    admin_client: Client, busy_rollout: Rollout, add_metrics: MetricMaker,
    django_assert_num_queries
) -> None:
    from canary.hourly import roll_up_closed_hours
    from canary.models import HourlyRollup

    add_metrics(busy_rollout, "local", 100, seed=4, ago_s=3 * 3600)
    add_metrics(busy_rollout, "cloud", 100, seed=5, ago_s=5 * 3600)
    roll_up_closed_hours()
    assert HourlyRollup.objects.exists()
    # The stored hours in one query, the hours after them aggregated live.
    with django_assert_num_queries(20):
        assert admin_client.get(tier_url(window="7d")).status_code == 200


def test_the_overview_lists_rollouts_and_savings(
    admin_client: Client, busy_rollout: Rollout, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(8):  # the 8th: recent metric losses
        response = admin_client.get(reverse("admin:canary_dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("admin:canary_dashboard_tier", args=["haiku"]) in html
    assert "25% local · 75% cloud" in html
    assert "Savings, last 7 days" in html


def test_the_admin_index_links_the_control_room(admin_client: Client, db: None) -> None:
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse("admin:canary_dashboard")}"' in html


def test_an_unknown_tier_is_a_clear_404(admin_client: Client, busy_rollout: Rollout) -> None:
    response = admin_client.get(tier_url("opus"))
    assert response.status_code == 404
    assert "No rollout for tier &#x27;opus&#x27; (rollouts: haiku)." in response.content.decode()


def test_an_unknown_window_is_a_clear_400(admin_client: Client, busy_rollout: Rollout) -> None:
    response = admin_client.get(tier_url(window="3d"))
    assert response.status_code == 400
    assert "Unknown window &#x27;3d&#x27;: choose one of 1h, 24h, 7d." in (
        response.content.decode())


def test_staff_without_rollout_permissions_is_refused(client: Client,
                                                      busy_rollout: Rollout) -> None:
    user = User.objects.create_user("viewer", password="x", is_staff=True)
    client.force_login(user)
    assert client.get(tier_url()).status_code == 403
    assert client.get(reverse("admin:canary_dashboard")).status_code == 403


def test_anonymous_users_are_sent_to_the_login_page(client: Client,
                                                    busy_rollout: Rollout) -> None:
    response = client.get(tier_url())
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_new_rollout_at_zero_says_what_advancing_will_ask(
    admin_client: Client, haiku_rollout: Rollout
) -> None:
    html = admin_client.get(tier_url()).content.decode()
    assert "At 0% there is no candidate traffic to judge" in html
    assert "none: rollouts are evaluated once they are above 0%" in html
    assert "0 attempts" in html and "<svg" in html
    offered = [verb for verb in ("advance", "set-stage", "pause", "resume", "rollback")
               if f'id="action-{verb}"' in html]
    assert offered == ["advance", "set-stage", "resume", "rollback"]
    page = admin_client.get(reverse("admin:canary_dashboard_action", args=["haiku", "advance"]))
    assert "Local provider health (last check)" in page.content.decode()
