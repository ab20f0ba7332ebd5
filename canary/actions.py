"""Every rollout state change. The only module that writes Rollout or Transition rows.

Each action locks the rollout row (select_for_update), checks the caller's view
of it (expected stage and status) so that a human's "advance" cannot race an
automatic rollback, applies the change, writes the Transition with its evidence
and bumps the registry version, all in one transaction: routing sees the new
stage within a second, and the log always replays to the current state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from canary.models import Rollout, RolloutStatus, Transition, TransitionReason
from registry.actions import bump_version
from registry.models import Model, Tier

LOCAL_ELIGIBLE_TIERS = (Tier.HAIKU, Tier.SONNET)


class RolloutRefused(Exception):
    """The action was not carried out; the message says why, in one line."""


class StaleCommand(RolloutRefused):
    """The rollout changed since the caller looked at it."""


@dataclass(frozen=True)
class Expected:
    """What the caller believes the rollout is at. None means "don't check"."""

    stage: int | None = None
    status: str | None = None


def create_rollout(
    tier: str,
    *,
    actor: str,
    candidate: Model | None = None,
    baseline: Model | None = None,
    **settings: Any,
) -> Rollout:
    if tier == Tier.OPUS:
        raise RolloutRefused("opus is never routed locally, so it cannot have a rollout")
    if tier not in LOCAL_ELIGIBLE_TIERS:
        raise RolloutRefused(f"unknown tier {tier!r}; rollouts exist for haiku and sonnet")
    if candidate and (not candidate.provider.is_local or candidate.tier != tier):
        raise RolloutRefused(f"candidate {candidate.model_key} must be a local {tier} model")
    if baseline and (baseline.provider.is_local or baseline.tier != tier):
        raise RolloutRefused(f"baseline {baseline.model_key} must be a cloud {tier} model")
    with transaction.atomic():
        if Rollout.objects.filter(tier=tier).exists():
            raise RolloutRefused(f"tier {tier} already has a rollout")
        rollout = Rollout.objects.create(
            tier=tier, candidate=candidate, baseline=baseline, **settings
        )
        bump_version()
    return rollout


def ensure_default_rollouts() -> list[str]:
    """A haiku rollout at stage 0, paused (the seed's baseline), if none exists."""
    made = []
    for tier in (Tier.HAIKU,):
        if not Rollout.objects.filter(tier=tier).exists():
            create_rollout(tier, actor="setup")
            made.append(tier)
    return made


def advance(
    tier: str,
    *,
    actor: str,
    expected: Expected = Expected(),
    force: bool = False,
    note: str = "",
    reason: str = TransitionReason.MANUAL,
    evaluation: dict[str, Any] | None = None,
) -> Transition:
    """Move to the next stage of the ladder; only when the gates PASS at the current one.

    From stage 0 no candidate traffic exists yet: the local provider must answer
    its health check instead. `force` skips the gates and needs a `note` saying why.
    """
    if force and not note.strip():
        raise RolloutRefused("--force needs a reason (note) to be recorded")
    # Gates read metrics and may call the provider's health endpoint: done before
    # taking the row lock, then checked against the locked row's stage.
    evidence = (
        evaluation if evaluation is not None else (None if force else _evidence_for_advance(tier))
    )
    with transaction.atomic():
        rollout = _locked(tier, expected)
        if rollout.status == RolloutStatus.ROLLED_BACK:
            raise RolloutRefused(
                f"{tier} is rolled back; resume it (with a reason) before advancing"
            )
        next_stage = _next_stage(rollout)
        if evidence is not None and not force:
            if evidence.get("stage") != rollout.stage:
                raise StaleCommand(
                    f"{tier} moved to {rollout.stage}% while its gates were being "
                    f"evaluated; look again and retry"
                )
            if evidence["verdict"] != "pass":
                raise RolloutRefused(
                    f"{tier} gates are {evidence['verdict'].upper()} at stage "
                    f"{rollout.stage}%: {evidence['summary']}"
                )
        status = RolloutStatus.COMPLETE if next_stage == 100 else RolloutStatus.ROLLING
        return _apply(
            rollout,
            next_stage,
            status,
            reason=reason,
            actor=actor,
            note=note,
            forced=force,
            evidence=evidence or {},
        )


def set_stage(
    tier: str,
    stage: int,
    *,
    actor: str,
    expected: Expected = Expected(),
    force: bool = False,
    note: str = "",
    reason: str = TransitionReason.MANUAL_SET,
) -> Transition:
    """Jump to a stage of the ladder. Going up needs passing gates (or force with a note)."""
    if force and not note.strip():
        raise RolloutRefused("--force needs a reason (note) to be recorded")
    with transaction.atomic():
        rollout = _locked(tier, expected)
        if stage not in rollout.ladder:
            raise RolloutRefused(
                f"{stage}% is not a stage of {tier}'s ladder {', '.join(map(str, rollout.ladder))}"
            )
        if stage == rollout.stage:
            raise RolloutRefused(f"{tier} is already at {stage}%")
        if rollout.status == RolloutStatus.ROLLED_BACK and stage > 0:
            raise RolloutRefused(f"{tier} is rolled back; resume it (with a reason) first")
    evidence: dict[str, Any] = {}
    if stage > rollout.stage and not force:
        evidence = _evidence_for_advance(tier)
        if evidence["verdict"] != "pass":
            raise RolloutRefused(
                f"{tier} gates are {evidence['verdict'].upper()} at stage "
                f"{rollout.stage}%: {evidence['summary']}"
            )
    with transaction.atomic():
        rollout = _locked(tier, Expected(rollout.stage, rollout.status))
        status = (
            RolloutStatus.COMPLETE
            if stage == 100
            else RolloutStatus.PAUSED
            if rollout.status == RolloutStatus.PAUSED
            else RolloutStatus.ROLLING
        )
        return _apply(
            rollout,
            stage,
            status,
            reason=reason,
            actor=actor,
            note=note,
            forced=force,
            evidence=evidence,
        )


def pause(tier: str, *, actor: str, expected: Expected = Expected(), note: str = "") -> Transition:
    """Hold at the current stage: traffic keeps its split, nothing advances automatically."""
    with transaction.atomic():
        rollout = _locked(tier, expected)
        if rollout.status != RolloutStatus.ROLLING:
            raise RolloutRefused(f"{tier} is {rollout.status}, not rolling; nothing to pause")
        return _apply(
            rollout,
            rollout.stage,
            RolloutStatus.PAUSED,
            reason=TransitionReason.PAUSE,
            actor=actor,
            note=note,
        )


def resume(tier: str, *, actor: str, expected: Expected = Expected(), note: str = "") -> Transition:
    """Continue a paused rollout; a rolled-back one resumes at 0% and needs a reason."""
    with transaction.atomic():
        rollout = _locked(tier, expected)
        if rollout.status not in (RolloutStatus.PAUSED, RolloutStatus.ROLLED_BACK):
            raise RolloutRefused(
                f"{tier} is {rollout.status}; only paused or rolled-back rollouts resume"
            )
        if rollout.status == RolloutStatus.ROLLED_BACK and not note.strip():
            raise RolloutRefused(f"{tier} was rolled back: say why it is safe to resume (a note)")
        return _apply(
            rollout,
            rollout.stage,
            RolloutStatus.ROLLING,
            reason=TransitionReason.RESUME,
            actor=actor,
            note=note,
        )


def rollback(
    tier: str,
    *,
    actor: str,
    expected: Expected = Expected(),
    reason: str = TransitionReason.MANUAL,
    note: str = "",
    evidence: dict[str, Any] | None = None,
) -> Transition:
    """All traffic back to the cloud at once: stage 0, status rolled_back."""
    with transaction.atomic():
        rollout = _locked(tier, expected)
        if rollout.status == RolloutStatus.ROLLED_BACK and rollout.stage == 0:
            raise RolloutRefused(f"{tier} is already rolled back")
        return _apply(
            rollout,
            0,
            RolloutStatus.ROLLED_BACK,
            reason=reason,
            actor=actor,
            note=note,
            evidence=evidence or {},
        )


def evaluate(tier: str, *, actor: str = "scheduler") -> dict[str, Any]:
    """Judge the current stage: roll back on FAIL, auto-advance on PASS after the dwell
    (when enabled), hold on INCONCLUSIVE. Returns the evidence with what was done."""
    from canary.evaluation import gate_evidence

    rollout = Rollout.objects.select_related("candidate", "baseline").get(tier=tier)
    if rollout.stage == 0:
        return {
            "verdict": "inconclusive",
            "action": "none",
            "stage": 0,
            "summary": f"{tier} is at 0%: no local traffic to judge",
        }
    evidence = gate_evidence(rollout)
    Rollout.objects.filter(pk=rollout.pk).update(
        last_evaluated_at=timezone.now(), last_verdict=evidence["verdict"], last_evidence=evidence
    )
    seen = Expected(rollout.stage, rollout.status)
    action = "hold"
    try:
        if evidence["verdict"] == "fail":
            rollback(
                tier,
                actor=actor,
                expected=seen,
                reason=TransitionReason.QUALITY_GATE_ROLLBACK,
                evidence=evidence,
            )
            action = "rollback"
        elif evidence["verdict"] == "pass" and _may_auto_advance(rollout):
            advance(
                tier,
                actor=actor,
                expected=seen,
                reason=TransitionReason.AUTO_ADVANCE,
                evaluation=evidence,
            )
            action = "advance"
    except StaleCommand:
        action = "none (the rollout changed while it was evaluated)"
    return {**evidence, "action": action}


def _may_auto_advance(rollout: Rollout) -> bool:
    dwell = timezone.now() - rollout.stage_entered_at
    return (
        rollout.auto_advance
        and rollout.status == RolloutStatus.ROLLING
        and rollout.stage < 100
        and dwell.total_seconds() >= rollout.min_dwell_minutes * 60
    )


# Internals


def _locked(tier: str, expected: Expected) -> Rollout:
    try:
        rollout = Rollout.objects.select_for_update().get(tier=tier)
    except Rollout.DoesNotExist:
        raise RolloutRefused(f"no rollout for tier {tier!r}") from None
    stale_stage = expected.stage is not None and expected.stage != rollout.stage
    stale_status = expected.status is not None and expected.status != rollout.status
    if stale_stage or stale_status:
        last = rollout.transitions.first()
        since = (
            f" after {last.reason} by {last.actor} at {last.created_at:%Y-%m-%d %H:%M:%S}"
            if last
            else ""
        )
        raise StaleCommand(
            f"{tier} changed: expected {expected.stage}% {expected.status or ''}".rstrip()
            + f", but it is at {rollout.stage}% {rollout.status}{since}; look again and retry"
        )
    return rollout


def _next_stage(rollout: Rollout) -> int:
    higher = [s for s in rollout.ladder if s > rollout.stage]
    if not higher:
        raise RolloutRefused(f"{rollout.tier} is already at {rollout.stage}%, the last stage")
    return min(higher)


def _apply(
    rollout: Rollout,
    stage: int,
    status: str,
    *,
    reason: str,
    actor: str,
    note: str = "",
    forced: bool = False,
    evidence: dict[str, Any] | None = None,
) -> Transition:
    transition = Transition.objects.create(
        rollout=rollout,
        from_stage=rollout.stage,
        to_stage=stage,
        from_status=rollout.status,
        to_status=status,
        reason=reason,
        actor=actor,
        note=note,
        forced=forced,
        evidence=evidence or {},
    )
    if stage != rollout.stage:
        rollout.stage_entered_at = timezone.now()
    rollout.stage, rollout.status = stage, status
    rollout.save(update_fields=["stage", "status", "stage_entered_at", "updated_at"])
    bump_version()
    return transition


def _evidence_for_advance(tier: str) -> dict[str, Any]:
    """The gate verdict that allows an advance, as a JSON-ready dict with a summary."""
    from canary.evaluation import advance_evidence

    try:
        return advance_evidence(tier)
    except Rollout.DoesNotExist:
        raise RolloutRefused(f"no rollout for tier {tier!r}") from None
