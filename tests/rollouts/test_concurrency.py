"""Races on PostgreSQL: row locks and expected-state checks keep the log and the state in step."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest
from django.db import connection

from canary import actions
from canary.fastpath import check_consecutive_failures
from canary.models import Rollout, Transition
from tests.rollouts.conftest import MetricMaker, put_at

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(n: int, work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def body(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_twenty_threads_racing_leave_a_state_equal_to_the_replayed_log(
    haiku_rollout: Rollout,
) -> None:
    assert connection.vendor == "postgresql"
    put_at(haiku_rollout, 25)
    refused = []

    def act(i: int) -> None:
        rng = random.Random(i)
        for _ in range(5):
            seen = Rollout.objects.get(tier="haiku")
            expected = actions.Expected(seen.stage, seen.status)
            verb = rng.choice(["advance", "rollback", "pause", "resume", "set"])
            try:
                if verb == "advance":
                    actions.advance(
                        "haiku", actor=f"t{i}", expected=expected, force=True, note="race"
                    )
                elif verb == "rollback":
                    actions.rollback("haiku", actor=f"t{i}", expected=expected)
                elif verb == "pause":
                    actions.pause("haiku", actor=f"t{i}", expected=expected)
                elif verb == "resume":
                    actions.resume("haiku", actor=f"t{i}", expected=expected, note="race")
                else:
                    actions.set_stage(
                        "haiku",
                        rng.choice([5, 25, 50]),
                        actor=f"t{i}",
                        expected=expected,
                        force=True,
                        note="race",
                    )
            except actions.RolloutRefused:
                refused.append(verb)

    errors = run_threads(20, act)
    assert errors == []
    log = list(Transition.objects.order_by("created_at", "pk"))
    assert len(log) + len(refused) == 100
    state = (25, "rolling")
    for t in log:
        assert (t.from_stage, t.from_status) == state, f"lost update before transition {t.pk}"
        state = (t.to_stage, t.to_status)
    rollout = Rollout.objects.get(tier="haiku")
    assert (rollout.stage, rollout.status) == state


def test_consecutive_failures_roll_back_once_however_many_processes_notice(
    haiku_rollout: Rollout, add_metrics: MetricMaker
) -> None:
    put_at(haiku_rollout, 25)
    add_metrics(haiku_rollout, "local", 20, error_rate=0.0, seed=1, ago_s=60)
    add_metrics(haiku_rollout, "local", 3, error_rate=1.0, seed=2)  # the three newest fail

    errors = run_threads(8, lambda i: check_consecutive_failures(["haiku"]))

    assert errors == []
    rollout = Rollout.objects.get(tier="haiku")
    assert (rollout.stage, rollout.status) == (0, "rolled_back")
    transitions = list(Transition.objects.filter(reason="consecutive_failures"))
    assert len(transitions) == 1
    assert transitions[0].evidence["summary"] == (
        "3 consecutive local failures: server_error, server_error, server_error"
    )


def test_two_failures_then_a_success_do_not_roll_back(
    haiku_rollout: Rollout, add_metrics: MetricMaker
) -> None:
    put_at(haiku_rollout, 25)
    add_metrics(haiku_rollout, "local", 2, error_rate=1.0, seed=3, ago_s=60)
    add_metrics(haiku_rollout, "local", 1, error_rate=0.0, seed=4)
    assert check_consecutive_failures(["haiku"]) == []
    assert Rollout.objects.get(tier="haiku").stage == 25
