"""The canary admin: state is read-only, actions go through canary.actions."""

import pytest
from django.test import Client
from django.urls import reverse

from canary.models import Rollout, Transition


def test_pausing_from_the_admin_writes_a_transition(
    admin_client: Client, rollout_at_25: Rollout
) -> None:
    url = reverse("admin:canary_rollout_changelist")
    response = admin_client.post(
        url, {"action": "pause_rollouts", "_selected_action": [rollout_at_25.pk]}, follow=True
    )
    assert "1 rollout(s) changed." in response.content.decode()
    t = Transition.objects.get()
    assert (t.reason, t.actor, t.to_status) == ("pause", "admin", "paused")


def test_a_refused_admin_action_says_why(admin_client: Client, haiku_rollout: Rollout) -> None:
    url = reverse("admin:canary_rollout_changelist")
    response = admin_client.post(
        url, {"action": "pause_rollouts", "_selected_action": [haiku_rollout.pk]}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [
        "haiku is paused, not rolling; nothing to pause"
    ]
    assert not Transition.objects.exists()


def test_stage_and_status_cannot_be_edited_in_the_form(
    admin_client: Client, rollout_at_25: Rollout
) -> None:
    url = reverse("admin:canary_rollout_change", args=[rollout_at_25.pk])
    form = admin_client.get(url).context["adminform"].form
    assert "stage" not in form.fields and "status" not in form.fields


@pytest.mark.usefixtures("rollout_at_25")
def test_metrics_list_does_not_count_the_table(
    admin_client: Client, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("admin:canary_requestmetric_changelist"))
    assert response.status_code == 200
