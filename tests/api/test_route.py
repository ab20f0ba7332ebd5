"""POST /api/v1/route: the decision, as the client would take it; no completion is made."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from canary import actions
from llmcontrol.routing import bucket_for

pytestmark = pytest.mark.usefixtures("seeded_registry")


def route(api: APIClient, **body: object) -> dict:
    response = api.post("/api/v1/route", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_purpose_routes_to_its_tier_in_the_cloud(api: APIClient,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USE_LOCAL_LLM", "false")
    decision = route(api, purpose="classification", routing_key="user-42")
    assert decision["tier"] == "haiku"
    assert decision["provider"] == {"key": "anthropic", "name": "Anthropic", "kind": "anthropic",
                                    "is_local": False}
    assert decision["model"]["ref"] == "anthropic/claude-haiku-3-5-20241022"
    assert decision["local"] is False
    assert [m["ref"] for m in decision["fallback"]] == ["openai/gpt-4o-mini",
                                                       "google/gemini-2.0-flash"]
    assert (decision["rule"], decision["stage"]) == ("purpose", 0)
    assert decision["bucket"] == bucket_for("user-42")
    assert decision["reason"] == "purpose classification → haiku; USE_LOCAL_LLM is off"


def test_a_rollout_at_100_sends_the_tier_local_with_the_cloud_as_fallback(
    api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USE_LOCAL_LLM", "true")
    actions.create_rollout("haiku", actor="test")
    actions.set_stage("haiku", 100, actor="test", force=True, note="test")
    decision = route(api, sub_agent="QUICKFIX", phase="EXEC", routing_key="k")
    assert (decision["tier"], decision["local"], decision["stage"]) == ("haiku", True, 100)
    assert decision["rule"] == "phase"
    assert decision["model"]["is_local"] is True
    assert decision["fallback"][0]["ref"] == "anthropic/claude-haiku-3-5-20241022"
    assert route(api, sub_agent="QUICKFIX", phase="EXEC", allow_local=False)["local"] is False


def test_an_explicit_tier_and_an_explicit_model(api: APIClient) -> None:
    assert route(api, tier="opus", purpose="classification")["tier"] == "opus"
    decision = route(api, model="gpt-4o-mini")
    assert (decision["model"]["ref"], decision["rule"]) == ("openai/gpt-4o-mini", "explicit")


def test_an_unknown_model_has_no_route(api: APIClient) -> None:
    response = api.post("/api/v1/route", {"model": "gpt-9"}, format="json")
    assert response.status_code == 422
    assert response.json() == {
        "detail": "model 'gpt-9' is not an active model of an enabled provider",
        "code": "no_route"}


@pytest.mark.parametrize("body, field", [
    ({"allow_local": "maybe"}, "allow_local"),
    ({"tier": "gpt"}, "tier"),
    ({"purpose": "x" * 65}, "purpose"),
])
def test_bad_input_is_400_naming_the_field(api: APIClient, body: dict, field: str) -> None:
    response = api.post("/api/v1/route", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_bad_switch_is_reported_not_guessed(api: APIClient,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USE_LOCAL_LLM", "maybe")
    response = api.post("/api/v1/route", {"purpose": "fast"}, format="json")
    assert response.status_code == 503
    assert "USE_LOCAL_LLM='maybe' is not a boolean" in response.json()["detail"]


def test_malformed_json_is_400(api: APIClient) -> None:
    response = api.post("/api/v1/route", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
