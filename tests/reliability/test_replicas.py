"""Two gateway replicas on one database agree: a change made through one (the admin, the
REST API, the fast path) is what both route on within a second, and a routing key lands
on the same side of a rollout whichever replica serves it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from canary.models import RequestMetric, RolloutStatus, Transition, TransitionReason
from llmcontrol.routing.core import bucket_for
from tests.fakes.behaviours import Reply
from tests.fakes.fixtures import closed_port
from tests.live import Replica, start_replica, wait_for
from tests.reliability.gateway_calls import chat, local_keys, route
from tests.reliability.wiring import wire

PROPAGATION_LIMIT_S = 1.0  # the bound: the snapshot poll (0.5 s) plus one query
PASSWORD = "correct horse battery staple"


@pytest.fixture
def start_two(replica_env: dict[str, str], workdir: Path) -> Iterator[Callable[[], list[Replica]]]:
    started: list[Replica] = []

    def start() -> list[Replica]:
        # Routing decisions are what these tests read, many per second: no API throttle.
        env = {**replica_env, "API_RATE_ROUTE": "off"}
        started.extend(start_replica(env, workdir) for _ in range(2))
        return started

    yield start
    for replica in started:
        replica.terminate()


def seconds_until_both_see(replicas: list[Replica], sees: Callable[[Replica], bool],
                           since: float, timeout: float = 30.0) -> list[float]:
    """For each replica, polled on a thread of its own: seconds from `since` until
    `sees(replica)` first holds."""
    def poll(replica: Replica) -> float:
        deadline = time.monotonic() + timeout
        while not sees(replica):
            if time.monotonic() > deadline:
                pytest.fail(f"{replica.url} did not see the change within {timeout} s")
        return time.monotonic() - since

    with ThreadPoolExecutor(len(replicas)) as pool:
        return list(pool.map(poll, replicas))


class FormFields(HTMLParser):
    """The values a browser would submit with the page's main form."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "checkbox", "radio"):
            self.values[name] = a.get("value", "")
        elif tag == "input" and name and "checked" in a:
            self.values[name] = a.get("value", "on")
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def form_of(html: str) -> dict[str, str]:
    parser = FormFields()
    parser.feed(html)
    return parser.values


def admin_session(url: str) -> httpx.Client:
    """Logged in to the admin as a superuser, as a browser would be."""
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("operator", "operator@example.com", PASSWORD)
    browser = httpx.Client(base_url=url, timeout=60)
    page = browser.get("/admin/login/")
    form = {**form_of(page.text), "username": "operator", "password": PASSWORD}
    answer = browser.post("/admin/login/?next=/admin/", data=form)
    assert answer.status_code == 302, answer.text[-2000:]
    return browser


def test_an_admin_change_on_one_replica_is_seen_by_both_within_a_second(
    api_key: str, fake_anthropic: Any, fake_ollama: Any, start_two: Any
) -> None:
    from registry.models import RoutingRule

    wire(anthropic=fake_anthropic.url, ollama=fake_ollama.url, stage=100)
    replicas = start_two()
    rule = RoutingRule.objects.get(purpose="classification")
    assert rule.tier == "haiku"
    for replica in replicas:
        assert route(replica.url, api_key, purpose="classification")["tier"] == "haiku"

    browser = admin_session(replicas[0].url)
    change = f"/admin/registry/routingrule/{rule.pk}/change/"
    form = {**form_of(browser.get(change).text), "tier": "sonnet", "_save": "Save"}
    answer = browser.post(change, data=form)
    changed_at = time.monotonic()
    assert answer.status_code == 302, answer.text[-2000:]  # saved, back to the list
    rule.refresh_from_db()
    assert rule.tier == "sonnet"

    waited = seconds_until_both_see(
        replicas, lambda r: route(r.url, api_key, purpose="classification")["tier"] == "sonnet",
        since=changed_at)
    assert max(waited) <= PROPAGATION_LIMIT_S, waited
    # And the gateway routes on it: a classification call is a sonnet call now.
    for replica in replicas:
        answered = chat(replica.url, api_key, model="auto", metadata={"purpose": "classification"})
        assert (answered.status, answered.headers["x-llmcontrol-tier"]) == (200, "sonnet")


def test_a_rollout_transition_through_the_api_is_seen_by_both_within_a_second(
    api_key: str, fake_anthropic: Any, fake_ollama: Any, start_two: Any
) -> None:
    from registry.models import ApiKey, ApiKeyScope

    wire(anthropic=fake_anthropic.url, ollama=fake_ollama.url, stage=25)
    admin_key = ApiKey.create("release manager", ApiKeyScope.ADMIN)[1]
    replicas = start_two()
    # A key between 25% and 50%: cloud now, local once the stage is 50.
    [key] = [k for k in local_keys(50, 400) if bucket_for(k) >= 25 * 100][:1]
    for replica in replicas:
        assert route(replica.url, api_key, tier="haiku", routing_key=key)["local"] is False

    answer = httpx.post(f"{replicas[0].url}/api/v1/rollouts/haiku/set", timeout=60,
                        headers={"Authorization": f"Bearer {admin_key}"},
                        json={"stage": 50, "force": True, "note": "replica test"})
    changed_at = time.monotonic()
    assert answer.status_code == 200, answer.text
    assert answer.json()["rollout"]["stage"] == 50

    def sees(replica: Replica) -> bool:
        decision = route(replica.url, api_key, tier="haiku", routing_key=key)
        return decision["stage"] == 50 and decision["local"] is True

    waited = seconds_until_both_see(replicas, sees, since=changed_at)
    assert max(waited) <= PROPAGATION_LIMIT_S, waited
    for replica in replicas:
        answered = chat(replica.url, api_key, routing_key=key)
        assert (answered.status, answered.routed_to) == (200, "local")


def test_both_replicas_put_every_routing_key_on_the_same_side(
    api_key: str, fake_anthropic: Any, fake_ollama: Any, start_two: Any
) -> None:
    wire(anthropic=fake_anthropic.url, ollama=fake_ollama.url, stage=50)
    fake_ollama.default = Reply(text="local answer")
    replicas = start_two()
    keys = [f"user-{i}" for i in range(200)]

    def sides(replica: Replica) -> dict[str, tuple[bool, str]]:
        found = {}
        for key in keys:
            decision = route(replica.url, api_key, tier="haiku", routing_key=key)
            answered = chat(replica.url, api_key, routing_key=key)
            assert answered.status == 200, answered.body
            found[key] = (decision["local"], answered.routed_to)
        return found

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(sides, replicas)
    expected = {k: (bucket_for(k) < 5000, "local" if bucket_for(k) < 5000 else "cloud")
                for k in keys}
    assert first == expected
    assert second == expected
    # Both sides were exercised: the keys are not all on one side by chance.
    assert 50 < sum(local for local, _ in expected.values()) < 150
    assert len(fake_ollama.requests) == 2 * sum(local for local, _ in expected.values())


def rows_versus(outcomes: list[Any]) -> str:
    """What was stored against what the callers saw, for a failure message."""
    from collections import Counter

    stored = Counter(RequestMetric.objects.values_list("routed_to", "success", "streamed"))
    seen = Counter((o.routed_to, o.fallback, o.stream) for o in outcomes)
    return f"rows {dict(stored)}; responses (routed_to, fallback, stream) {dict(seen)}"


def test_failures_on_both_replicas_roll_back_once(
    api_key: str, fake_anthropic: Any, start_two: Any
) -> None:
    from canary.models import Rollout

    wire(anthropic=fake_anthropic.url, ollama=f"http://127.0.0.1:{closed_port()}", stage=50,
         consecutive_failure_limit=3)
    replicas = start_two()
    keys = local_keys(50, 40, prefix="failing")
    go = threading.Event()

    def call(i: int) -> Any:
        go.wait()
        return chat(replicas[i % 2].url, api_key, routing_key=keys[i], stream=i % 3 == 0)

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(call, i) for i in range(len(keys))]
        go.set()
        outcomes = [f.result() for f in futures]

    assert [o.status for o in outcomes] == [200] * len(keys), [o.error or o.body
                                                                for o in outcomes]
    assert all(o.routed_to == "fallback" or (o.routed_to == "cloud" and not o.fallback)
               for o in outcomes)
    assert all(o.done for o in outcomes if o.stream)
    rollout = Rollout.objects.get(tier="haiku")
    wait_for(lambda: Rollout.objects.get(tier="haiku").status == RolloutStatus.ROLLED_BACK, 30,
             message="the fast path did not roll the rollout back")
    rollout.refresh_from_db()
    assert rollout.stage == 0
    rollbacks = Transition.objects.filter(rollout=rollout, to_status=RolloutStatus.ROLLED_BACK)
    assert [t.reason for t in rollbacks] == [TransitionReason.CONSECUTIVE_FAILURES]

    expected_rows = sum(o.attempts for o in outcomes)
    for replica in replicas:
        replica.terminate()  # flushes what each still holds
    assert RequestMetric.objects.count() == expected_rows, rows_versus(outcomes)
    local_failures = RequestMetric.objects.filter(routed_to="local", success=False).count()
    assert local_failures == sum(o.fallback for o in outcomes) >= 3
