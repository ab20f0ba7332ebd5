"""Cloud bursts of 429, 529 and 503 with `Retry-After`: each caller's retries are bounded by
the provider's `max_retries`, wait what the server asked, and are counted in the metric rows
and in Prometheus. Twenty callers at once make exactly the upstream calls the policy allows
(no retry storm); a burst longer than the retries ends in a clear error, or on the next
cloud model when the tier has one; a `Retry-After` above the cap is not waited for.

Each caller's words carry a marker, and the fake answers each caller from a script of its
own, so the upstream calls of one request can be told apart and timed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from canary.models import RequestMetric
from canary.recorder import database_recorder
from llmcontrol.client import LLMCallError, LLMResult, get_llm_client, pool
from llmcontrol.providers import ErrorKind, retry
from tests.fakes.behaviours import HttpError, Reply
from tests.fakes.fake_anthropic import FakeAnthropic
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.server import RecordedRequest
from tests.live import start_replica, wait_for
from tests.reliability.gateway_calls import Outcome, chat
from tests.reliability.wiring import wire

RETRIES = 2  # the cloud provider's max_retries: three upstream calls at most per attempt
CALLERS = 20
HAIKU = "claude-haiku-3-5-20241022"
ANSWER = "Retried and answered."
TOLERANCE_S = 0.01  # clock granularity only: the waits are asked for, never shortened


def marker(i: int) -> str:
    return f"[caller {i:02d}]"


def prompt(i: int) -> str:
    return f"{marker(i)} Say hello."


def burst(status: int, count: int, retry_after: float | str = 1) -> list[HttpError]:
    return [HttpError(status, f"burst {status}", retry_after=retry_after)] * count


def calls_of(fake: FakeAnthropic | FakeOpenAI, i: int) -> list[RecordedRequest]:
    return [r for r in fake.chat_requests() if marker(i).encode() in r.raw]


def upstream_calls(fake: FakeAnthropic | FakeOpenAI) -> int:
    return len(fake.chat_requests())


def gaps(requests: list[RecordedRequest]) -> list[float]:
    return [later.at - earlier.at for earlier, later in pairwise(requests)]


def label(i: int) -> str:
    """The caller's purpose label: its metric rows say which caller they belong to."""
    return f"caller-{i:02d}"


def retries_match_the_upstream_calls(fake: FakeAnthropic, stored: list[RequestMetric]) -> None:
    """Each caller's row counts the upstream calls its attempt made, beyond the first."""
    for row in stored:
        assert row.retries == len(calls_of(fake, int(row.purpose.removeprefix("caller-")))) - 1


def rows() -> list[RequestMetric]:
    assert database_recorder().flush(timeout=10), "metrics did not drain"
    return list(RequestMetric.objects.order_by("request_id", "attempt"))


@pytest.fixture
def cloud_only(transactional_db: None, fake_anthropic: FakeAnthropic,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    """Haiku served by the fake Anthropic alone (no local model, no other cloud), retried
    RETRIES times, called in-process."""
    wire(anthropic=fake_anthropic.url, stage=0, cloud_retries=RETRIES)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake")
    monkeypatch.delenv("LLMCONTROL_URL", raising=False)
    fake_anthropic.default = Reply(text=ANSWER)
    yield fake_anthropic
    database_recorder().flush(timeout=10)
    pool.close_all()


@pytest.fixture
def next_cloud(cloud_only: FakeAnthropic, fake_openai: FakeOpenAI,
               monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """OpenAI enabled too (on its fake, no retries): haiku's next cloud model, gpt-4o-mini."""
    from registry.actions import bump_version
    from registry.models import Provider

    Provider.objects.filter(key="openai").update(enabled=True, base_url=fake_openai.url,
                                                  max_retries=0)
    bump_version()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-openai")
    fake_openai.default = Reply(text="From the next cloud model.")
    return fake_openai


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff waits the adapters ask for, recorded; they are still slept for real."""
    waits: list[float] = []
    lock = threading.Lock()
    real_sleep = retry.default_sleep

    def sleep(seconds: float) -> None:
        with lock:
            waits.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(retry, "default_sleep", sleep)
    return waits


def call(i: int, streamed: bool) -> LLMResult | LLMCallError:
    """One caller's call through the Python client: its result, or the error it raised."""
    client = get_llm_client(tier="haiku", purpose=label(i), routing_key=label(i))
    try:
        if not streamed:
            return client.complete(None, prompt(i), max_tokens=16)
        parts = list(client.stream(None, prompt(i), max_tokens=16))
    except LLMCallError as error:
        return error
    *text, result = parts
    assert isinstance(result, LLMResult) and "".join(map(str, text)) == result.content
    return result


def call_all(count: int, streamed: bool) -> list[LLMResult | LLMCallError]:
    """`count` callers at once, each in a thread of its own."""
    from django.db import connection

    def caller(i: int) -> LLMResult | LLMCallError:
        try:
            return call(i, streamed)
        finally:
            connection.close()  # this thread's, opened to read the registry

    with ThreadPoolExecutor(count) as callers:
        return list(callers.map(caller, range(count)))


@pytest.mark.parametrize(("status", "streamed"), [(429, False), (429, True), (529, False),
                                                  (503, True)])
def test_a_burst_is_retried_after_retry_after_with_exactly_the_calls_the_policy_allows(
        cloud_only: FakeAnthropic, slept: list[float], status: int, streamed: bool) -> None:
    # Given: every caller's first two upstream calls are refused with Retry-After: 1.
    for i in range(CALLERS):
        cloud_only.enqueue_for(marker(i), *burst(status, RETRIES))

    # When: twenty callers call at once.
    results = call_all(CALLERS, streamed)

    # Then: each is answered by its third upstream call, never a fourth.
    assert all(isinstance(r, LLMResult) for r in results), [
        str(r) for r in results if not isinstance(r, LLMResult)]
    assert [(r.content, r.routed_to, r.attempts, r.retries) for r in results] == [
        (ANSWER, "cloud", 1, RETRIES)] * CALLERS
    assert upstream_calls(cloud_only) == CALLERS * (RETRIES + 1)
    for i in range(CALLERS):
        requests = calls_of(cloud_only, i)
        assert len(requests) == RETRIES + 1
        assert all(gap >= 1 - TOLERANCE_S for gap in gaps(requests)), gaps(requests)
    assert slept == [1.0] * (CALLERS * RETRIES)  # the server's wait: no jitter added

    # One metric row per call, carrying its retries.
    stored = rows()
    assert [(m.provider, m.model, m.routed_to, m.success, m.retries, m.streamed)
            for m in stored] == [("anthropic", HAIKU, "cloud", True, RETRIES, streamed)] * CALLERS
    assert {m.request_id for m in stored} == {r.request_id for r in results}
    retries_match_the_upstream_calls(cloud_only, stored)


@pytest.mark.parametrize("streamed", [False, True])
def test_a_burst_longer_than_the_retries_ends_in_a_clear_error_with_its_retries_recorded(
        cloud_only: FakeAnthropic, slept: list[float], streamed: bool) -> None:
    callers = 5
    for i in range(callers):
        cloud_only.enqueue_for(marker(i), *burst(429, RETRIES + 1))

    errors = call_all(callers, streamed)

    for error in errors:
        assert isinstance(error, LLMCallError), error
        assert (error.kind, error.attempts, error.retries, error.partial) == (
            ErrorKind.RATE_LIMITED, 1, RETRIES, False)
        assert error.last is not None and error.last.retry_after == 1.0
        assert f"tried anthropic/{HAIKU}" in str(error)
        assert "rate_limited" in str(error)
    assert upstream_calls(cloud_only) == callers * (RETRIES + 1)
    assert slept == [1.0] * (callers * RETRIES)
    stored = rows()
    assert [(m.routed_to, m.success, m.error_type, m.retries, m.streamed) for m in stored] == [
        ("cloud", False, "rate_limited", RETRIES, streamed)] * callers
    retries_match_the_upstream_calls(cloud_only, stored)

    # The burst is over: the next call is answered at once, with no retry.
    after = call(0, streamed)
    assert isinstance(after, LLMResult) and (after.content, after.retries) == (ANSWER, 0)
    assert upstream_calls(cloud_only) == callers * (RETRIES + 1) + 1


@pytest.mark.parametrize("streamed", [False, True])
def test_a_burst_longer_than_the_retries_fails_over_to_the_next_cloud_model(
        cloud_only: FakeAnthropic, next_cloud: FakeOpenAI, slept: list[float],
        streamed: bool) -> None:
    callers = 5
    for i in range(callers):
        cloud_only.enqueue_for(marker(i), *burst(529, RETRIES + 1))

    results = call_all(callers, streamed)

    assert all(isinstance(r, LLMResult) for r in results), [
        str(r) for r in results if not isinstance(r, LLMResult)]
    assert [(r.content, r.provider, r.model, r.routed_to, r.fallback, r.attempts, r.retries)
            for r in results] == [("From the next cloud model.", "openai", "gpt-4o-mini",
                                   "fallback", True, 2, RETRIES)] * callers
    assert (upstream_calls(cloud_only), upstream_calls(next_cloud)) == (
        callers * (RETRIES + 1), callers)
    for i in range(callers):
        [failover] = calls_of(next_cloud, i)
        last_refusal = calls_of(cloud_only, i)[-1]
        assert failover.at > last_refusal.at  # after the last retry, not alongside it
    # The last refusal is not waited for: failing over needs no Retry-After.
    assert slept == [1.0] * (callers * RETRIES)
    stored = rows()
    assert [(m.attempt, m.provider, m.routed_to, m.success, m.error_type, m.retries)
            for m in stored] == [
        (0, "anthropic", "cloud", False, "server_error", RETRIES),
        (1, "openai", "fallback", True, "", 0)] * callers


@pytest.mark.parametrize("streamed", [False, True])
def test_a_retry_after_above_the_cap_is_not_waited_for(
        cloud_only: FakeAnthropic, slept: list[float], streamed: bool) -> None:
    beyond = retry.MAX_RETRY_AFTER_S * 120  # an hour
    cloud_only.enqueue_for(marker(0), *burst(429, 1, retry_after=beyond))

    error = call(0, streamed)

    assert isinstance(error, LLMCallError), error
    assert (error.kind, error.retries) == (ErrorKind.RATE_LIMITED, 0)
    assert error.last is not None and error.last.retry_after == beyond
    assert (upstream_calls(cloud_only), slept) == (1, [])
    [row] = rows()
    assert (row.success, row.error_type, row.retries) == (False, "rate_limited", 0)


def test_a_retry_after_above_the_cap_fails_over_at_once(
        cloud_only: FakeAnthropic, next_cloud: FakeOpenAI, slept: list[float]) -> None:
    cloud_only.enqueue_for(marker(0), *burst(429, 1, retry_after=retry.MAX_RETRY_AFTER_S + 1))

    result = call(0, streamed=True)

    assert isinstance(result, LLMResult), result
    assert (result.provider, result.routed_to, result.retries) == ("openai", "fallback", 0)
    assert (upstream_calls(cloud_only), upstream_calls(next_cloud), slept) == (1, 1, [])
    assert [(m.provider, m.success, m.retries) for m in rows()] == [
        ("anthropic", False, 0), ("openai", True, 0)]


def test_a_burst_through_the_gateway(api_key: str, fake_anthropic: FakeAnthropic,
                                     replica_env: dict[str, str], workdir: Path) -> None:
    """A replica (async path) under twenty callers, half of them streaming, in a 429/529
    burst; two more callers whose burst outlasts the retries get a 429 naming the wait."""
    wire(anthropic=fake_anthropic.url, stage=0, cloud_retries=RETRIES)
    fake_anthropic.default = Reply(text=ANSWER)
    for i in range(CALLERS):
        fake_anthropic.enqueue_for(marker(i), *burst(429 if i % 2 else 529, RETRIES))
    refused = [CALLERS, CALLERS + 1]
    for i in refused:
        fake_anthropic.enqueue_for(marker(i), *burst(429, RETRIES + 1, retry_after=2))
    replica = start_replica(replica_env, workdir)
    try:
        with ThreadPoolExecutor(CALLERS + len(refused)) as callers:
            outcomes: list[Outcome] = list(callers.map(
                lambda i: chat(replica.url, api_key, content=prompt(i), stream=i % 2 == 0,
                               routing_key=label(i), metadata={"purpose": label(i)}),
                range(CALLERS + len(refused))))

        answered, failed = outcomes[:CALLERS], outcomes[CALLERS:]
        assert [(o.status, o.routed_to, o.fallback) for o in answered] == [
            (200, "cloud", False)] * CALLERS, (
            [o.body or o.error for o in answered if o.status != 200], replica.log_text()[-3000:])
        for outcome in answered:
            if outcome.stream:
                assert outcome.done and outcome.text == ANSWER, outcome.events
            else:
                assert outcome.body["choices"][0]["message"]["content"] == ANSWER
        for outcome in failed:
            assert (outcome.status, outcome.headers.get("retry-after")) == (429, "2")
            assert outcome.body["error"]["code"] == "rate_limit_exceeded"
            assert f"tried anthropic/{HAIKU}" in outcome.body["error"]["message"]

        # Exactly the upstream calls the policy allows, each after the wait asked for.
        assert upstream_calls(fake_anthropic) == (CALLERS + len(refused)) * (RETRIES + 1)
        for i in range(CALLERS + len(refused)):
            requests = calls_of(fake_anthropic, i)
            wait = 2 if i in refused else 1
            assert len(requests) == RETRIES + 1
            assert all(gap >= wait - TOLERANCE_S for gap in gaps(requests)), gaps(requests)

        # Every attempt is a row with its retries, and Prometheus counts them.
        attempts = CALLERS + len(refused)
        wait_for(lambda: RequestMetric.objects.count() == attempts, 30,
                 message="the replica did not write its metric rows")
        stored = list(RequestMetric.objects.order_by("purpose"))
        assert [(m.purpose, m.success, m.error_type, m.retries, m.streamed) for m in stored] == [
            (label(i), i < CALLERS, "" if i < CALLERS else "rate_limited", RETRIES, i % 2 == 0)
            for i in range(attempts)]
        retries_match_the_upstream_calls(fake_anthropic, stored)
        assert prometheus_retries(replica.url, api_key) == {
            ("anthropic", HAIKU): float(attempts * RETRIES)}
    finally:
        replica.terminate()


def prometheus_retries(url: str, api_key: str) -> dict[tuple[str, str], float]:
    response = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {api_key}"},
                         timeout=30)
    assert response.status_code == 200, response.text
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    return {(s.labels["provider"], s.labels["model"]): s.value
            for s in families["llmcontrol_provider_retries"].samples
            if s.name == "llmcontrol_provider_retries_total"}
