"""A metric batch whose COMMIT reached PostgreSQL but whose reply was lost (the
connection broke in between) is stored; the writer, not knowing, sends it again. The
rows are written once: rows = attempts, and the rollups count each once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from django.db.models import Count, Sum

from canary.models import MetricRollup, RequestMetric
from tests.live import server_environment, start_replica, wait_for
from tests.reliability.conftest import ProxiedDatabase
from tests.reliability.wiring import wire

CALLS = 12


def test_a_batch_stored_without_its_reply_is_not_written_twice(
    proxied_database: ProxiedDatabase, api_key: str, fake_ollama: Any, fake_anthropic: Any,
    workdir: Path
) -> None:
    wire(anthropic=fake_anthropic.url, ollama=fake_ollama.url, stage=100)
    proxy = proxied_database.proxy
    env = server_environment(database=proxied_database.url, METRICS_FLUSH_INTERVAL="0.3")
    replica = start_replica(env, workdir)
    try:
        with httpx.Client(base_url=replica.url, timeout=30) as client:

            def ask(i: int) -> None:
                response = client.post(
                    "/v1/chat/completions", headers={"Authorization": f"Bearer {api_key}"},
                    json={"model": "haiku", "messages": [{"role": "user", "content": f"q{i}"}]})
                assert response.status_code == 200, response.text

            ask(0)
            wait_for(lambda: RequestMetric.objects.count() == 1, 30)
            # The next metric batch's COMMIT is carried out, its reply lost.
            proxy.lose_commit_reply(after=b'INSERT INTO "canary_requestmetric"')
            for i in range(1, CALLS):
                ask(i)
            wait_for(lambda: proxy.commit_replies_lost == 1, 30,
                     message="no metric batch went through the lost reply")
            wait_for(lambda: RequestMetric.objects.count() >= CALLS, 30,
                     message="the metric rows did not all arrive")
            ask(CALLS)  # a write after the retry: the writer is past it
            wait_for(lambda: RequestMetric.objects.count() >= CALLS + 1, 30)
        assert "metric write failed" in replica.log_text()
        assert "metric writes recovered" in replica.log_text()
        twice = (RequestMetric.objects.values("request_id", "attempt")
                 .annotate(n=Count("id")).filter(n__gt=1))
        assert list(twice) == []
        assert RequestMetric.objects.count() == CALLS + 1
        assert MetricRollup.objects.aggregate(n=Sum("requests"))["n"] == CALLS + 1
    finally:
        replica.terminate()
