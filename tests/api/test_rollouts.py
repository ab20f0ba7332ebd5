"""Rollouts over the API: the same actions, refusals and messages as `manage.py canary`."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from canary import actions
from canary.models import Rollout, RolloutStatus, Transition
from registry.models import RegistryState
from tests.rollouts.conftest import MetricMaker, put_at


def state(rollout: Rollout) -> tuple:
    rollout.refresh_from_db()
    return (rollout.stage, rollout.status, Transition.objects.count(),
            RegistryState.objects.get(pk=1).version)


def test_list_detail_and_history(api: APIClient, rollout_at_25: Rollout) -> None:
    actions.pause("haiku", actor="ops", note="checking dashboards")
    [listed] = api.get("/api/v1/rollouts/").json()
    assert api.get("/api/v1/rollouts/haiku").json() == listed
    assert {k: listed[k] for k in ("tier", "stage", "status", "split", "candidate", "baseline",
                                   "ladder")} == {
        "tier": "haiku", "stage": 25, "status": "paused", "split": "25% local / 75% cloud",
        "candidate": "llamacpp-local/smollm2-135m-instruct",
        "baseline": "anthropic/claude-haiku-3-5-20241022", "ladder": [0, 5, 25, 50, 100]}
    [latest] = api.get("/api/v1/rollouts/haiku/history?limit=1").json()
    assert (latest["reason"], latest["actor"], latest["note"], latest["to_status"]) == (
        "pause", "ops", "checking dashboards", "paused")
    assert api.get("/api/v1/rollouts/haiku/history?limit=0").status_code == 400


def test_an_unknown_tier_is_404_with_the_commands_message(admin_api: APIClient,
                                                          seeded_registry: None) -> None:
    for response in (admin_api.get("/api/v1/rollouts/opus"),
                     admin_api.post("/api/v1/rollouts/opus/pause", {}, format="json")):
        assert (response.status_code, response.json()) == (
            404, {"detail": "no rollout for tier 'opus'"})


def test_a_forced_set_is_recorded_as_an_api_request_by_the_key(admin_api: APIClient,
                                                               rollout_at_25: Rollout) -> None:
    response = admin_api.post("/api/v1/rollouts/haiku/set",
                              {"stage": 50, "force": True, "note": "capacity test",
                               "actor": "alice"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["rollout"]["stage"] == 50
    t = body["transition"]
    assert (t["from_stage"], t["to_stage"], t["reason"], t["actor"], t["forced"], t["note"]) == (
        25, 50, "api_request", "alice (api:release-bot)", True, "capacity test")
    assert Transition.objects.get().reason == "api_request"


def test_pause_resume_and_rollback(admin_api: APIClient, rollout_at_25: Rollout) -> None:
    def act(verb: str, **body: Any) -> dict:
        response = admin_api.post(f"/api/v1/rollouts/haiku/{verb}", body, format="json")
        assert response.status_code == 200, response.content
        return response.json()["transition"]

    assert act("pause")["to_status"] == "paused"
    assert act("resume")["to_status"] == "rolling"
    rolled = act("rollback", note="p99 doubled")
    assert (rolled["to_stage"], rolled["to_status"], rolled["reason"]) == (
        0, "rolled_back", "api_request")
    assert act("resume", note="fixed the model's context size")["to_status"] == "rolling"


def test_advance_with_passing_gates(admin_api: APIClient, rollout_at_25: Rollout,
                                    add_metrics: MetricMaker) -> None:
    add_metrics(rollout_at_25, "local", 3000, latency_ms=250)
    add_metrics(rollout_at_25, "cloud", 3000, latency_ms=300)
    response = admin_api.post("/api/v1/rollouts/haiku/advance", {}, format="json")
    assert response.status_code == 200, response.content
    t = response.json()["transition"]
    assert (t["to_stage"], t["reason"], t["evidence"]["verdict"]) == (50, "api_request", "pass")


def test_a_stale_view_is_409_and_nothing_changes(admin_api: APIClient,
                                                 rollout_at_25: Rollout) -> None:
    before = state(rollout_at_25)
    response = admin_api.post("/api/v1/rollouts/haiku/rollback", {"expected_stage": 5},
                              format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "stale"
    assert response.json()["detail"].startswith(
        "haiku changed: expected 5% rolling, but it is at 25% rolling")
    assert state(rollout_at_25) == before


# Each situation: set up, then the same verb through the command and the API.
Setup = Callable[[Rollout, MetricMaker], None]


def _inconclusive(rollout: Rollout, add: MetricMaker) -> None:
    add(rollout, "local", 10)
    add(rollout, "cloud", 10)


def _rolled_back(rollout: Rollout, add: MetricMaker) -> None:
    put_at(rollout, 0, RolloutStatus.ROLLED_BACK)


def _nothing(rollout: Rollout, add: MetricMaker) -> None:
    pass


REFUSALS = [
    (_inconclusive, ["advance"], {}),
    (_nothing, ["advance", "--force"], {"force": True}),
    (_nothing, ["set", "30", "--force", "--reason", "x"],
     {"stage": 30, "force": True, "note": "x"}),
    (_nothing, ["set", "25"], {"stage": 25}),
    (_nothing, ["resume"], {}),
    (_rolled_back, ["resume"], {}),
    (_rolled_back, ["rollback"], {}),
    (_rolled_back, ["advance"], {}),
]


@pytest.mark.parametrize("setup, argv, body", REFUSALS)
def test_refusals_match_the_command_and_change_nothing(
    admin_api: APIClient, rollout_at_25: Rollout, add_metrics: MetricMaker,
    setup: Setup, argv: list[str], body: dict,
) -> None:
    setup(rollout_at_25, add_metrics)
    before = state(rollout_at_25)
    with pytest.raises(CommandError) as refused:
        call_command("canary", *argv, stdout=StringIO())
    verb = argv[0]
    response = admin_api.post(f"/api/v1/rollouts/haiku/{verb}", body, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": str(refused.value), "code": "refused"}
    assert state(rollout_at_25) == before
