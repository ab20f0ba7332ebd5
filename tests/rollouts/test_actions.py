"""Rollout actions: every move, every refusal, and that a refusal changes nothing."""

from __future__ import annotations

import pytest

from canary import actions
from canary.actions import Expected, RolloutRefused, StaleCommand
from canary.models import Rollout, RolloutStatus, Transition
from registry.models import RegistryState
from tests.rollouts.conftest import MetricMaker, put_at


def snapshot_of(rollout: Rollout) -> tuple:
    rollout.refresh_from_db()
    return (
        rollout.stage,
        rollout.status,
        Transition.objects.count(),
        RegistryState.objects.get(pk=1).version,
    )


def test_a_new_rollout_starts_at_zero_paused(haiku_rollout: Rollout) -> None:
    assert (haiku_rollout.stage, haiku_rollout.status) == (0, RolloutStatus.PAUSED)
    assert haiku_rollout.ladder == [0, 5, 25, 50, 100]


def test_opus_cannot_have_a_rollout(seeded_registry: None) -> None:
    with pytest.raises(RolloutRefused, match="opus is never routed locally"):
        actions.create_rollout("opus", actor="test")
    assert not Rollout.objects.exists()


def test_candidate_must_be_local_and_baseline_cloud(seeded_registry: None) -> None:
    from registry.models import Model

    cloud = Model.objects.get(model_key="claude-haiku-3-5-20241022")
    with pytest.raises(RolloutRefused, match="candidate claude-haiku-3-5-20241022 must be a local"):
        actions.create_rollout("haiku", actor="t", candidate=cloud)
    assert not Rollout.objects.exists()


def test_advance_from_zero_needs_a_healthy_local_provider(
    haiku_rollout: Rollout, fake_openai
) -> None:
    from registry.models import Provider

    Provider.objects.filter(key="llamacpp-local").update(base_url=fake_openai.url)
    actions.resume("haiku", actor="ops")
    transition = actions.advance("haiku", actor="ops")
    assert (transition.from_stage, transition.to_stage, transition.reason) == (0, 5, "manual")
    assert transition.evidence["verdict"] == "pass"
    assert "llamacpp-local healthy" in transition.evidence["summary"]


def test_advance_from_zero_is_refused_when_the_local_provider_is_down(
    haiku_rollout: Rollout,
) -> None:
    from registry.models import Provider
    from tests.fakes.fixtures import closed_port

    Provider.objects.filter(key="llamacpp-local").update(
        base_url=f"http://127.0.0.1:{closed_port()}"
    )
    before = snapshot_of(haiku_rollout)
    with pytest.raises(
        RolloutRefused, match=r"haiku gates are FAIL at stage 0%: llamacpp-local down"
    ):
        actions.advance("haiku", actor="ops")
    assert snapshot_of(haiku_rollout) == before


def test_advance_is_refused_while_gates_are_inconclusive(
    rollout_at_25: Rollout, add_metrics: MetricMaker
) -> None:
    add_metrics(rollout_at_25, "local", 10)
    add_metrics(rollout_at_25, "cloud", 10)
    before = snapshot_of(rollout_at_25)
    with pytest.raises(RolloutRefused, match="haiku gates are INCONCLUSIVE at stage 25%"):
        actions.advance("haiku", actor="ops")
    assert snapshot_of(rollout_at_25) == before


def test_advance_is_refused_when_gates_fail(
    rollout_at_25: Rollout, add_metrics: MetricMaker
) -> None:
    add_metrics(rollout_at_25, "local", 300, error_rate=0.3)
    add_metrics(rollout_at_25, "cloud", 300, error_rate=0.0)
    before = snapshot_of(rollout_at_25)
    with pytest.raises(RolloutRefused, match="haiku gates are FAIL at stage 25%"):
        actions.advance("haiku", actor="ops")
    assert snapshot_of(rollout_at_25) == before


def test_advance_on_passing_gates_records_the_evidence(
    rollout_at_25: Rollout, add_metrics: MetricMaker
) -> None:
    add_metrics(rollout_at_25, "local", 3000, latency_ms=250)
    add_metrics(rollout_at_25, "cloud", 3000, latency_ms=300)
    version = RegistryState.objects.get(pk=1).version
    transition = actions.advance("haiku", actor="ops", expected=Expected(25, "rolling"))
    assert (transition.to_stage, transition.to_status) == (50, "rolling")
    assert transition.evidence["verdict"] == "pass"
    assert {g["gate"] for g in transition.evidence["gates"]} >= {
        "error_rate",
        "error_rate_vs_baseline",
        "latency_p95",
    }
    assert RegistryState.objects.get(pk=1).version == version + 1


def test_force_needs_a_reason_and_is_recorded(rollout_at_25: Rollout) -> None:
    before = snapshot_of(rollout_at_25)
    with pytest.raises(RolloutRefused, match="--force needs a reason"):
        actions.advance("haiku", actor="ops", force=True)
    assert snapshot_of(rollout_at_25) == before
    t = actions.advance("haiku", actor="ops", force=True, note="vendor incident, local verified")
    assert (t.to_stage, t.forced, t.note) == (50, True, "vendor incident, local verified")


def test_reaching_100_completes(rollout_at_25: Rollout) -> None:
    put_at(rollout_at_25, 50)
    t = actions.advance("haiku", actor="ops", force=True, note="go")
    assert (t.to_stage, t.to_status) == (100, "complete")
    with pytest.raises(RolloutRefused, match="already at 100%, the last stage"):
        actions.advance("haiku", actor="ops", force=True, note="again")


@pytest.mark.parametrize(
    "stage, message",
    [
        (30, "30% is not a stage of haiku's ladder 0, 5, 25, 50, 100"),
        (25, "haiku is already at 25%"),
    ],
)
def test_set_to_an_invalid_stage_is_refused(
    rollout_at_25: Rollout, stage: int, message: str
) -> None:
    before = snapshot_of(rollout_at_25)
    with pytest.raises(RolloutRefused, match=message):
        actions.set_stage("haiku", stage, actor="ops")
    assert snapshot_of(rollout_at_25) == before


def test_set_down_needs_no_gates(rollout_at_25: Rollout) -> None:
    t = actions.set_stage("haiku", 5, actor="ops", note="careful")
    assert (t.from_stage, t.to_stage, t.reason) == (25, 5, "manual_set")


def test_rollback_then_resume_needs_a_reason(rollout_at_25: Rollout) -> None:
    t = actions.rollback("haiku", actor="ops")
    assert (t.to_stage, t.to_status) == (0, "rolled_back")
    before = snapshot_of(rollout_at_25)
    with pytest.raises(RolloutRefused, match="was rolled back: say why it is safe to resume"):
        actions.resume("haiku", actor="ops")
    with pytest.raises(RolloutRefused, match="is rolled back; resume it"):
        actions.advance("haiku", actor="ops", force=True, note="x")
    with pytest.raises(RolloutRefused, match="already rolled back"):
        actions.rollback("haiku", actor="ops")
    assert snapshot_of(rollout_at_25) == before
    t = actions.resume("haiku", actor="ops", note="model reloaded with more memory")
    assert (t.to_stage, t.to_status, t.reason) == (0, "rolling", "resume")


def test_pause_and_resume(rollout_at_25: Rollout) -> None:
    actions.pause("haiku", actor="ops")
    with pytest.raises(RolloutRefused, match="haiku is paused, not rolling; nothing to pause"):
        actions.pause("haiku", actor="ops")
    t = actions.resume("haiku", actor="ops")
    assert (t.from_status, t.to_status, t.to_stage) == ("paused", "rolling", 25)


def test_a_stale_command_fails_saying_what_changed(rollout_at_25: Rollout) -> None:
    actions.rollback("haiku", actor="fast-path", reason="consecutive_failures")
    before = snapshot_of(rollout_at_25)
    with pytest.raises(StaleCommand) as excinfo:
        actions.advance(
            "haiku", actor="ops", expected=Expected(25, "rolling"), force=True, note="x"
        )
    assert str(excinfo.value).startswith(
        "haiku changed: expected 25% rolling, but it is at 0% rolled_back after "
        "consecutive_failures by fast-path at "
    )
    assert snapshot_of(rollout_at_25) == before


def test_an_unknown_tier_is_refused(seeded_registry: None) -> None:
    with pytest.raises(RolloutRefused, match="no rollout for tier 'sonnet'"):
        actions.pause("sonnet", actor="ops")


def test_the_routing_snapshot_follows_the_rollout(rollout_at_25: Rollout) -> None:
    from registry.snapshot import refresh_snapshot

    actions.set_stage("haiku", 5, actor="ops")
    snap = refresh_snapshot()
    assert snap.rollouts["haiku"].stage == 5
    assert snap.rollouts["haiku"].candidate == "llamacpp-local/smollm2-135m-instruct"
    assert snap.rollouts["haiku"].baseline == "anthropic/claude-haiku-3-5-20241022"
