"""Actions from the control room: a confirmation page with the evidence, a reason, and the
same canary.actions as the command; refusals shown, nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from canary.models import Rollout, RolloutStatus, Transition
from tests.rollouts.conftest import MetricMaker, put_at


def action_url(verb: str, tier: str = "haiku") -> str:
    return reverse("admin:canary_dashboard_action", args=[tier, verb])


def post(client: Client, verb: str, tier: str = "haiku", **data: Any) -> Any:
    fields = {"expected_stage": 25, "expected_status": "rolling", "reason": "drill", **data}
    return client.post(action_url(verb, tier), {k: v for k, v in fields.items() if v is not None})


def assert_unchanged(rollout: Rollout) -> None:
    current = Rollout.objects.get(pk=rollout.pk)
    assert (current.stage, current.status) == (rollout.stage, rollout.status)
    assert not Transition.objects.exists()


@pytest.fixture
def passing_rollout(rollout_at_25: Rollout, add_metrics: MetricMaker) -> Rollout:
    """Enough clean traffic on both arms for every gate to PASS."""
    add_metrics(rollout_at_25, "local", 1500, seed=1, json_requested=True, json_valid=True)
    add_metrics(rollout_at_25, "cloud", 3000, seed=2, error_rate=0.02)
    return rollout_at_25


def test_the_confirmation_page_shows_the_evidence_and_what_it_acts_on(
    admin_client: Client, rollout_at_25: Rollout, django_assert_num_queries
) -> None:
    with django_assert_num_queries(8):
        response = admin_client.get(action_url("pause"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "INCONCLUSIVE" in html and "error_rate_vs_baseline" in html
    assert '<input type="hidden" name="expected_stage" value="25"' in html
    assert '<input type="hidden" name="expected_status" value="rolling"' in html
    assert 'name="reason"' in html


def test_pausing_through_the_confirmation_page(admin_client: Client,
                                               rollout_at_25: Rollout) -> None:
    response = post(admin_client, "pause", reason="latency spike on the local box")

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:canary_dashboard_tier", args=["haiku"])
    t = Transition.objects.get()
    assert (t.reason, t.actor, t.note, t.from_status, t.to_status, t.to_stage) == (
        "pause", "admin", "latency spike on the local box", "rolling", "paused", 25)
    assert Rollout.objects.get().status == RolloutStatus.PAUSED
    page = admin_client.get(response["Location"]).content.decode()
    assert "Haiku: 25% rolling → 25% paused (pause)." in page  # the admin capitalises


def test_a_missing_reason_is_a_form_error_and_nothing_changes(
    admin_client: Client, rollout_at_25: Rollout
) -> None:
    response = post(admin_client, "pause", reason="   ")
    assert response.status_code == 200
    assert "Give a reason: it is recorded with the transition." in response.content.decode()
    assert_unchanged(rollout_at_25)


def test_a_stale_page_gets_the_stale_command_message_and_nothing_changes(
    admin_client: Client, rollout_at_25: Rollout
) -> None:
    response = post(admin_client, "rollback", expected_stage=5, reason="errors")

    assert response.status_code == 409
    html = response.content.decode()
    assert "Refused, nothing changed:" in html
    assert "haiku changed: expected 5% rolling, but it is at 25% rolling" in html
    assert_unchanged(rollout_at_25)
    # The page now shows the current state, keeping the reason typed.
    assert '<input type="hidden" name="expected_stage" value="25"' in html
    assert "\nerrors</textarea>" in html


def test_an_advance_the_gates_do_not_allow_is_refused_with_why(
    admin_client: Client, rollout_at_25: Rollout
) -> None:
    response = post(admin_client, "advance", reason="looks good to me")
    assert response.status_code == 409
    assert "haiku gates are INCONCLUSIVE at stage 25%: INCONCLUSIVE: waiting on" in (
        response.content.decode())
    assert_unchanged(rollout_at_25)


def test_advancing_on_passing_gates_records_their_evidence(
    admin_client: Client, passing_rollout: Rollout
) -> None:
    page = admin_client.get(action_url("advance")).content.decode()
    assert "PASS: all 6 gates pass" in page

    response = post(admin_client, "advance", reason="gates pass")

    assert response.status_code == 302
    t = Transition.objects.get()
    assert (t.from_stage, t.to_stage, t.reason, t.note, t.forced) == (
        25, 50, "manual", "gates pass", False)
    assert t.evidence["verdict"] == "pass"


def test_forcing_an_advance_is_recorded_as_forced(admin_client: Client,
                                                  rollout_at_25: Rollout) -> None:
    response = post(admin_client, "advance", reason="benchmarks are enough", force="on")
    assert response.status_code == 302
    t = Transition.objects.get()
    assert (t.to_stage, t.forced, t.note) == (50, True, "benchmarks are enough")


def test_setting_a_stage_down_the_ladder(admin_client: Client, rollout_at_25: Rollout) -> None:
    response = post(admin_client, "set-stage", stage=5, reason="slow down")
    assert response.status_code == 302
    t = Transition.objects.get()
    assert (t.from_stage, t.to_stage, t.reason, t.to_status) == (25, 5, "manual_set", "rolling")


@pytest.mark.parametrize("stage", ["30", "25", "abc", None])
def test_an_invalid_stage_is_a_form_error_and_nothing_changes(
    admin_client: Client, rollout_at_25: Rollout, stage: str | None
) -> None:
    response = post(admin_client, "set-stage", stage=stage)
    assert response.status_code == 200
    errors = response.context["form"].errors["stage"]
    assert errors == (["This field is required."] if stage is None else
                      [f"Select a valid choice. {stage} is not one of the available choices."])
    assert_unchanged(rollout_at_25)


def test_rollback_then_resume_needs_a_reason_from_the_action_too(
    admin_client: Client, rollout_at_25: Rollout
) -> None:
    assert post(admin_client, "rollback", reason="bad answers").status_code == 302
    rolled_back = Rollout.objects.get()
    assert (rolled_back.stage, rolled_back.status) == (0, "rolled_back")

    html = admin_client.get(reverse("admin:canary_dashboard_tier", args=["haiku"])).content
    assert b'id="action-resume"' in html and b'id="action-advance"' not in html
    response = post(admin_client, "resume", expected_stage=0, expected_status="rolled_back",
                    reason="fixed the prompt template")
    assert response.status_code == 302
    assert [t.reason for t in Transition.objects.order_by("pk")] == ["manual", "resume"]
    assert Rollout.objects.get().status == RolloutStatus.ROLLING


def test_a_refused_action_from_canary_actions_is_shown(admin_client: Client,
                                                       haiku_rollout: Rollout) -> None:
    put_at(haiku_rollout, 25, RolloutStatus.PAUSED)
    response = post(admin_client, "pause", expected_status="paused")
    assert response.status_code == 409
    assert "haiku is paused, not rolling; nothing to pause" in response.content.decode()
    assert not Transition.objects.exists()


def test_unknown_tier_and_action_are_clear_404s(admin_client: Client,
                                                rollout_at_25: Rollout) -> None:
    response = post(admin_client, "pause", tier="sonnet")
    assert response.status_code == 404
    assert "No rollout for tier &#x27;sonnet&#x27;" in response.content.decode()
    response = post(admin_client, "promote")
    assert response.status_code == 404
    assert ("Unknown action &#x27;promote&#x27;: choose one of advance, set-stage, pause, "
            "resume, rollback.") in response.content.decode()
    assert_unchanged(rollout_at_25)


def test_users_who_may_only_view_rollouts_cannot_act(client: Client,
                                                     rollout_at_25: Rollout) -> None:
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_rollout"))
    client.force_login(viewer)
    assert client.get(reverse("admin:canary_dashboard_tier", args=["haiku"])).status_code == 200
    assert post(client, "pause").status_code == 403
    assert_unchanged(rollout_at_25)
