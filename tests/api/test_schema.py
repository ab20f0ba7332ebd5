"""The OpenAPI schema: served without a key, Swagger UI served locally, and a schemathesis
run over every operation (a bounded number of examples each) that finds no 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from registry.models import ApiKey, ApiKeyScope, Provider
from tests.fakes.fixtures import closed_port

EXAMPLES_PER_OPERATION = 15


def test_the_schema_and_docs_need_no_key() -> None:
    schema = APIClient().get("/api/schema/?format=json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["info"]["title"] == "llmcontrol API"
    assert document["components"]["securitySchemes"] == {"ApiKey": {
        "type": "http", "scheme": "bearer", "bearerFormat": "lc_<prefix>_<secret>",
        "description": "An API key from `manage.py create_api_key` or the admin."}}
    assert "/api/v1/route" in document["paths"]
    docs = APIClient().get("/api/docs/")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "swagger-ui" in page and "/static/drf_spectacular_sidecar/" in page
    assert "cdn.jsdelivr" not in page and "unpkg" not in page


@pytest.fixture
def fuzzed_registry(seeded_registry: None, haiku_rollout: Any, settings: Any) -> Iterator[None]:
    # No limit while fuzzing; the local provider's health check fails fast (nothing listens).
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": dict.fromkeys(
        settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])}
    Provider.objects.filter(is_local=True).update(base_url=f"http://127.0.0.1:{closed_port()}")
    # The test's transaction must outlive each request (as Django's test client arranges).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Loaded from the app itself (no server, no network).
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture
def admin_header(db: None) -> dict[str, str]:
    return {"Authorization": f"Bearer {ApiKey.create('fuzz', ApiKeyScope.ADMIN)[1]}"}


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_5xx(case: Any, fuzzed_registry: None,
                                  admin_header: dict[str, str]) -> None:
    case.call_and_validate(headers=admin_header,
                           checks=[not_a_server_error, response_schema_conformance])
