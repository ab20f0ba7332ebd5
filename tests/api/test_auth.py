"""API keys: 401 without a valid key, 403 without the scope; a refused request changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from canary.models import Rollout, Transition
from llmcontrol.api.keys import key_cache
from registry.models import ApiKey, ReceivedMetricBatch
from tests.api.conftest import client_with

pytestmark = pytest.mark.django_db

ADVANCE = "/api/v1/rollouts/haiku/set"
FORCED_SET = {"stage": 25, "force": True, "note": "load test"}


def state(rollout: Rollout) -> tuple:
    rollout.refresh_from_db()
    return rollout.stage, rollout.status, Transition.objects.count()


@pytest.mark.parametrize("path", ["/api/v1/rollouts/", "/api/v1/providers/", "/api/v1/models/",
                                  "/api/v1/routing-table"])
def test_every_endpoint_is_closed_without_a_key(path: str) -> None:
    response = APIClient().get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="llmcontrol"'
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize("header, detail", [
    ("Bearer lc_abcdefgh_not-a-real-key", "Invalid or revoked API key."),
    ("Bearer not-even-our-format", "Invalid or revoked API key."),
    ("Token lc_abcdefgh_x", "Use the header `Authorization: Bearer <API key>`."),
    ("Bearer", "Use the header `Authorization: Bearer <API key>`."),
])
def test_a_bad_key_is_401_and_nothing_happens(haiku_rollout: Rollout, header: str,
                                              detail: str) -> None:
    before = state(haiku_rollout)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.post(ADVANCE, FORCED_SET, format="json")
    assert (response.status_code, response.json()) == (401, {"detail": detail})
    assert state(haiku_rollout) == before


def test_a_key_with_the_right_prefix_but_wrong_secret_is_refused(route_key: str) -> None:
    forged = route_key[:12] + "x" * (len(route_key) - 12)
    assert client_with(forged).get("/api/v1/rollouts/").status_code == 401


def test_a_revoked_key_is_401_and_nothing_happens(haiku_rollout: Rollout, admin_key: str) -> None:
    client = client_with(admin_key)
    assert client.get("/api/v1/rollouts/").status_code == 200
    ApiKey.objects.get().revoke()
    before = state(haiku_rollout)
    response = client.post(ADVANCE, FORCED_SET, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked API key."}
    assert state(haiku_rollout) == before


def test_a_route_key_cannot_change_a_rollout(haiku_rollout: Rollout, api: APIClient) -> None:
    before = state(haiku_rollout)
    for verb, body in [("set", FORCED_SET), ("advance", {"force": True, "note": "x"}),
                       ("pause", {}), ("resume", {}), ("rollback", {})]:
        response = api.post(f"/api/v1/rollouts/haiku/{verb}", body, format="json")
        assert response.status_code == 403, verb
        assert response.json() == {"detail": "This API key lacks the admin scope."}
    assert state(haiku_rollout) == before


def test_a_route_key_cannot_post_metrics_without_a_key_and_nothing_is_stored() -> None:
    response = APIClient().post("/api/v1/metrics", {"batch_id": "b1", "records": []},
                                format="json")
    assert response.status_code == 401
    assert not ReceivedMetricBatch.objects.exists()


def test_an_admin_key_may_do_what_a_route_key_may(admin_api: APIClient,
                                                  seeded_registry: None) -> None:
    assert admin_api.post("/api/v1/route", {"purpose": "classification"},
                          format="json").status_code == 200


def test_keys_are_stored_hashed_with_a_readable_prefix(route_key: str) -> None:
    key = ApiKey.objects.get()
    assert route_key.startswith(key.prefix + "_") and len(key.prefix) == 11
    assert key.prefix.startswith("lc_")
    stored = json.dumps(list(ApiKey.objects.values()), default=str)
    assert route_key not in stored and route_key[12:] not in stored


def test_last_used_is_recorded_at_most_once_a_minute(route_key: str) -> None:
    client = client_with(route_key)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.get("/api/v1/rollouts/")
        first = ApiKey.objects.get().last_used_at
        assert first is not None
        clock.shift(timedelta(seconds=30))
        client.get("/api/v1/rollouts/")
        assert ApiKey.objects.get().last_used_at == first
        clock.shift(timedelta(seconds=31))
        client.get("/api/v1/rollouts/")
        assert ApiKey.objects.get().last_used_at == first + timedelta(seconds=61)


def test_a_verified_key_is_cached_for_the_configured_time(
    route_key: str, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.API_KEY_CACHE_SECONDS = 60
    key_cache.clear()
    client = client_with(route_key)
    client.get("/api/v1/rollouts/")  # loads the key (and records its use)
    with django_assert_num_queries(1):
        client.get("/api/v1/rollouts/")  # only the rollout query


def test_create_api_key_prints_the_key_once() -> None:
    out = StringIO()
    call_command("create_api_key", "--name", "ci", "--scope", "admin", "--json", stdout=out)
    printed = json.loads(out.getvalue())
    key = ApiKey.objects.get()
    assert (printed["name"], printed["scope"], printed["prefix"]) == ("ci", "admin", key.prefix)
    assert client_with(printed["key"]).get("/api/v1/rollouts/").status_code == 200


def test_revoke_api_key_command(route_key: str) -> None:
    prefix = ApiKey.objects.get().prefix
    call_command("revoke_api_key", prefix, stdout=StringIO())
    assert client_with(route_key).get("/api/v1/rollouts/").status_code == 401
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="already revoked"):
        call_command("revoke_api_key", prefix, stdout=StringIO())


def test_the_admin_shows_a_new_key_once_and_revokes(admin_client: Any) -> None:
    response = admin_client.post("/admin/registry/apikey/add/",
                                 {"name": "reporting", "scope": "route"})
    assert response.status_code == 200
    key = ApiKey.objects.get(name="reporting")
    raw = response.context["raw"]
    assert raw.startswith(key.prefix + "_")
    assert client_with(raw).get("/api/v1/rollouts/").status_code == 200
    changelist = admin_client.get("/admin/registry/apikey/")
    assert raw not in changelist.content.decode()
    admin_client.post("/admin/registry/apikey/",
                      {"action": "revoke_keys", "_selected_action": [key.pk]})
    assert client_with(raw).get("/api/v1/rollouts/").status_code == 401


def test_known_keys_keep_working_while_the_database_is_away(
    route_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    from llmcontrol.api.keys import KeysUnavailable
    from registry.models import ApiKeyQuerySet

    known = key_cache.authenticate(route_key)
    assert known is not None
    stranger = ApiKey.create("stranger")[1]

    def unreachable(self: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(ApiKeyQuerySet, "active", unreachable)
    assert key_cache.authenticate(route_key) == known  # seen before: served from memory
    with pytest.raises(KeysUnavailable):
        key_cache.authenticate(stranger)
    response = client_with(stranger).get("/api/v1/providers/")
    assert (response.status_code, response.json()["code"]) == (503, "keys_unavailable")
