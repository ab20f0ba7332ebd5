"""POST /api/v1/metrics: validated whole, stored whole, stored once per batch id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from canary.models import RequestMetric, Rollout, Transition
from llmcontrol.client.metrics import MetricRecord
from registry.models import ReceivedMetricBatch

pytestmark = pytest.mark.django_db


def record(i: int = 0, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "request_id": f"req{i}", "attempt": 0, "tier": "haiku", "provider": "ollama",
        "model": "qwen3-coder:30b", "routed_to": "local", "bucket": 17, "stage": 25,
        "success": True, "latency_ms": 120.5, "created_at": datetime(2026, 5, 1, tzinfo=UTC),
        "purpose": "classification", "ttft_ms": 40.0, "input_tokens": 30, "output_tokens": 2,
    }
    values.update(fields)
    return MetricRecord(**values).to_dict()


def post(api: APIClient, batch_id: str, records: list[dict[str, Any]]) -> Any:
    return api.post("/api/v1/metrics", {"batch_id": batch_id, "records": records}, format="json")


def test_an_accepted_batch_is_stored_whole_with_its_source(api: APIClient) -> None:
    response = post(api, "b1", [record(i) for i in range(3)])
    assert (response.status_code, response.json()) == (
        201, {"batch_id": "b1", "stored": 3, "duplicate": False})
    rows = list(RequestMetric.objects.order_by("request_id"))
    assert [r.request_id for r in rows] == ["req0", "req1", "req2"]
    assert {r.source for r in rows} == {"remote:billing-service"}
    first = rows[0]
    assert (first.latency_ms, first.ttft_ms, first.input_tokens, first.purpose, first.stage) == (
        120.5, 40.0, 30, "classification", 25)
    assert first.created_at == datetime(2026, 5, 1, tzinfo=UTC)


def test_the_same_batch_twice_is_stored_once(api: APIClient) -> None:
    post(api, "b1", [record(0), record(1)])
    again = post(api, "b1", [record(0), record(1)])
    assert (again.status_code, again.json()) == (
        200, {"batch_id": "b1", "stored": 0, "duplicate": True})
    assert RequestMetric.objects.count() == 2
    assert ReceivedMetricBatch.objects.get().records == 2


def test_records_sent_again_under_a_new_batch_id_are_stored_once(api: APIClient) -> None:
    """A client whose reply was lost retries with the records queued since: a new id."""
    from django.db.models import Sum

    from canary.models import MetricRollup

    post(api, "b1", [record(0), record(1)])
    again = post(api, "b2", [record(0), record(1), record(2), record(2, attempt=1)])
    assert (again.status_code, again.json()) == (
        201, {"batch_id": "b2", "stored": 2, "duplicate": False})
    assert sorted(RequestMetric.objects.values_list("request_id", "attempt")) == [
        ("req0", 0), ("req1", 0), ("req2", 0), ("req2", 1)]
    assert MetricRollup.objects.aggregate(n=Sum("requests"))["n"] == 4


@pytest.mark.parametrize("bad, field, reason", [
    ({"latency_ms": "fast"}, "latency_ms", "A valid number is required."),
    ({"tier": "gpt"}, "tier", '"gpt" is not a valid choice.'),
    ({"bucket": 10_000}, "bucket", "Ensure this value is less than or equal to 9999."),
    ({"routed_to": None}, "routed_to", "This field may not be null."),
    ({"request_id": "x" * 33}, "request_id",
     "Ensure this field has no more than 32 characters."),
    ({"model": "a\x00b"}, "model", "Null characters are not allowed."),
])
def test_one_bad_record_refuses_the_batch_naming_it(api: APIClient, bad: dict, field: str,
                                                    reason: str) -> None:
    records = [record(0), record(1), {**record(2), **bad}, record(3)]
    response = post(api, "b1", records)
    assert response.status_code == 400
    body = response.json()
    assert body["index"] == 2
    assert body["errors"] == {field: [reason]}
    assert body["detail"] == (f"record 2 is invalid ({field}: {reason}); "
                              f"nothing from this batch was stored")
    assert not RequestMetric.objects.exists() and not ReceivedMetricBatch.objects.exists()
    # The batch id was not used up: the corrected batch is stored.
    assert post(api, "b1", [record(i) for i in range(4)]).status_code == 201


def test_a_missing_field_and_a_non_finite_number_are_refused(api: APIClient) -> None:
    missing = record(0)
    del missing["success"]
    response = post(api, "b1", [missing])
    assert (response.status_code, response.json()["index"]) == (400, 0)
    assert response.json()["errors"] == {"success": ["This field is required."]}
    response = api.post("/api/v1/metrics",
                        '{"batch_id": "b2", "records": [' + '{"latency_ms": NaN}' + "]}",
                        content_type="application/json")
    assert response.status_code == 400
    assert not RequestMetric.objects.exists()


@pytest.mark.parametrize("body, detail", [
    ({"batch_id": "b1", "records": []},
     "the batch is invalid (records: This list may not be empty.); "
     "nothing from this batch was stored"),
    ({"records": [record(0)]},
     "the batch is invalid (batch_id: This field is required.); "
     "nothing from this batch was stored"),
    ({"batch_id": "has spaces", "records": [record(0)]},
     "the batch is invalid (batch_id: This value does not match the required pattern.); "
     "nothing from this batch was stored"),
    ([record(0)], "the batch is invalid (Invalid data. Expected a dictionary, but got list.); "
                  "nothing from this batch was stored"),
])
def test_a_malformed_batch_is_refused(api: APIClient, body: Any, detail: str) -> None:
    response = api.post("/api/v1/metrics", body, format="json")
    assert (response.status_code, response.json()["detail"]) == (400, detail)
    assert response.json()["index"] is None
    assert not RequestMetric.objects.exists()


def test_consecutive_local_failures_in_a_batch_roll_the_tier_back(
    api: APIClient, rollout_at_25: Rollout
) -> None:
    now = datetime.now(UTC)
    failures = [record(i, success=False, error_type="timeout", created_at=now,
                       model="smollm2-135m-instruct", provider="llamacpp-local")
                for i in range(3)]
    assert post(api, "b1", failures).status_code == 201
    rollout_at_25.refresh_from_db()
    assert (rollout_at_25.stage, rollout_at_25.status) == (0, "rolled_back")
    transition = Transition.objects.get()
    assert (transition.reason, transition.actor) == ("consecutive_failures", "fast-path")


def test_the_remote_client_sink_posts_what_the_endpoint_accepts(api: APIClient) -> None:
    """The wire format of llmcontrol.client.remote.HttpMetricSink, end to end in-process."""
    import httpx

    from llmcontrol.client.remote import HttpMetricSink

    def handler(request: httpx.Request) -> httpx.Response:
        response = api.post("/api/v1/metrics", request.content, content_type="application/json")
        return httpx.Response(response.status_code, content=response.content)

    sink = HttpMetricSink(httpx.Client(base_url="http://control", transport=httpx.MockTransport(
        handler)))
    records = [MetricRecord(**{**record(i), "created_at": datetime.now(UTC)}) for i in range(2)]
    sink.write(records)
    sink.write(records)  # a retry after a lost reply
    assert RequestMetric.objects.count() == 2


LOSS = {"dropped": 3, "first_dropped_at": "2026-05-01T10:00:00Z",
        "last_dropped_at": "2026-05-01T10:00:30Z", "buffer_limit": 2}


def test_a_remote_clients_loss_report_is_a_metric_loss_row(api: APIClient) -> None:
    from canary.models import MetricLoss

    response = api.post("/api/v1/metric-losses", LOSS, format="json")
    assert response.status_code == 201
    loss = MetricLoss.objects.get()
    assert response.json() == {"id": loss.pk, "source": "remote:billing-service", "dropped": 3}
    assert (loss.dropped, loss.buffer_limit, loss.first_dropped_at) == (
        3, 2, datetime(2026, 5, 1, 10, tzinfo=UTC))


@pytest.mark.parametrize("changes, field", [
    ({"dropped": 0}, "dropped"),
    ({"dropped": "many"}, "dropped"),
    ({"last_dropped_at": "2026-05-01T09:00:00Z"}, "last_dropped_at"),
    ({"first_dropped_at": "yesterday"}, "first_dropped_at"),
    ({"buffer_limit": -1}, "buffer_limit"),
    ({"droped": 3}, "droped"),
])
def test_a_bad_loss_report_is_refused_naming_the_field(api: APIClient, changes: dict,
                                                       field: str) -> None:
    from canary.models import MetricLoss

    response = api.post("/api/v1/metric-losses", {**LOSS, **changes}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not MetricLoss.objects.exists()
