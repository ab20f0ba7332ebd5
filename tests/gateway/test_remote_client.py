"""Remote mode end to end: a plain Python process routes on the live server's routing
table and posts its metrics, which land in the control plane's database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from canary.models import RequestMetric
from tests.fakes.behaviours import Reply
from tests.gateway.conftest import ROOT, LiveServer, metrics_since


def test_a_remote_client_routes_on_the_servers_table_and_its_metrics_arrive(
    gateway_server: LiveServer, gateway_key: str, gateway_registry: dict[str, Any],
) -> None:
    gateway_registry["ollama"].enqueue(Reply(text="bug"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL") and not k.startswith(
               ("OLLAMA_", "LLMCONTROL_"))}
    env.update({"LLMCONTROL_URL": gateway_server.url, "LLMCONTROL_API_KEY": gateway_key,
                "USE_LOCAL_LLM": "true"})
    child = subprocess.run([sys.executable, "-m", "tests.gateway.remote_child"], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    outcome = json.loads(child.stdout.strip().splitlines()[-1])
    assert outcome == {**outcome, "mode": "remote", "content": "bug", "provider": "ollama",
                       "routed_to": "local", "snapshot_source": "remote", "drained": True,
                       "django_imported": False}
    [row] = metrics_since(gateway_registry["started"], 1)
    assert (row.request_id, row.source, row.routed_to, row.purpose) == (
        outcome["request_id"], "remote:gateway-tests", "local", "classification")
    # The server itself made no call: the decision and the call happened in the child.
    assert RequestMetric.objects.filter(source__startswith="remote:").count() == 1


@pytest.mark.usefixtures("gateway_registry")
def test_the_table_the_remote_client_reads_is_revalidated_with_its_etag(
    gateway_server: LiveServer, gateway_key: str
) -> None:
    from llmcontrol.client.remote import RemoteBackend

    backend = RemoteBackend(gateway_server.url, gateway_key, poll_interval=0)
    first = backend.snapshot()
    assert backend.snapshot() is first  # 304: the same table object is kept
    assert first.by_ref["ollama/qwen3-coder:30b"].is_local


@pytest.mark.usefixtures("gateway_registry")
def test_a_remote_client_reports_what_its_full_buffer_dropped(
    gateway_server: LiveServer, gateway_key: str
) -> None:
    """The control plane unreachable, the client's buffer full: the records it could not
    keep become a MetricLoss row on the control plane once it is back, never silent."""
    from datetime import UTC, datetime
    from urllib.parse import urlsplit

    from canary.models import MetricLoss
    from llmcontrol.client.metrics import MetricRecord, new_request_id
    from llmcontrol.client.remote import RemoteBackend
    from tests.registry.tcp_proxy import TcpProxy

    proxy = TcpProxy(urlsplit(gateway_server.url).port or 80)
    backend = RemoteBackend(f"http://127.0.0.1:{proxy.port}", gateway_key, timeout=2,
                            max_buffer=2)
    sent = [MetricRecord(request_id=new_request_id(), attempt=0, tier="haiku",
                         provider="ollama", model="qwen3-coder:30b", routed_to="local",
                         bucket=1, stage=100, success=True, latency_ms=10.0,
                         created_at=datetime.now(UTC)) for _ in range(5)]
    for record in sent:  # the proxy is not listening yet: the control plane is away
        backend.record(record)
    assert backend.flush(timeout=0.5) is False
    proxy.start()
    try:
        assert backend.flush(timeout=20)
    finally:
        proxy.cut()
    ids = [r.request_id for r in sent]
    assert sorted(RequestMetric.objects.filter(request_id__in=ids)
                  .values_list("request_id", flat=True)) == sorted(ids[:2])
    loss = MetricLoss.objects.get()
    assert (loss.source, loss.dropped, loss.buffer_limit) == ("remote:gateway-tests", 3, 2)
    assert (loss.first_dropped_at, loss.last_dropped_at) == (sent[2].created_at,
                                                             sent[4].created_at)
