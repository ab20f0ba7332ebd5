"""GET /api/v1/routing-table: the remote client's snapshot, revalidated with its ETag."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from llmcontrol.api.serializers.routing import RoutingTableOutputSerializer
from llmcontrol.routing import RoutingSnapshot
from registry import actions
from registry.models import Model, ModelStatus
from registry.snapshot import get_snapshot, refresh_snapshot

pytestmark = pytest.mark.usefixtures("seeded_registry")


def test_the_table_is_the_snapshot_and_round_trips(api: APIClient) -> None:
    response = api.get("/api/v1/routing-table")
    assert response.status_code == 200
    table = response.json()
    assert table == get_snapshot().to_dict()
    remote = RoutingSnapshot.from_dict(table)
    assert remote.version == get_snapshot().version
    assert remote.by_ref.keys() == get_snapshot().by_ref.keys()
    # The schema's serializer describes exactly what is sent.
    assert RoutingTableOutputSerializer(table).data == table


def test_if_none_match_gives_304_until_the_registry_changes(api: APIClient) -> None:
    etag = api.get("/api/v1/routing-table")["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    unchanged = api.get("/api/v1/routing-table", HTTP_IF_NONE_MATCH=etag)
    assert (unchanged.status_code, unchanged.content, unchanged["ETag"]) == (304, b"", etag)
    assert api.get("/api/v1/routing-table", HTTP_IF_NONE_MATCH=f'"other", W/{etag}'
                   ).status_code == 304

    actions.set_models_status(Model.objects.filter(model_key="gpt-4o-mini"), ModelStatus.INACTIVE)
    refresh_snapshot()
    changed = api.get("/api/v1/routing-table", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    statuses = {m["model"]: m["status"] for m in changed.json()["models"]}
    assert statuses["gpt-4o-mini"] == "inactive"


def test_the_table_holds_no_secret(api: APIClient, provider_secret: str) -> None:
    body = api.get("/api/v1/routing-table").content.decode()
    assert provider_secret not in body
    assert '"api_key_env":"ANTHROPIC_API_KEY"' in body
