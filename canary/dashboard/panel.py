"""What the control room shows about one rollout: state, gates, health, schedule, models.

A fixed number of queries whatever the traffic: the gates read rollups
(`canary.evaluation`), the rest are single-row or small look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from canary.evaluation import gate_evidence
from canary.models import ProviderHealth, Rollout, RolloutStatus, Transition

EVALUATE_TASK = "canary.tasks.evaluate_rollouts"  # as declared in canary.schedules


@dataclass
class NextEvaluation:
    at: datetime | None
    text: str


@dataclass
class ModelCard:
    role: str  # candidate or baseline
    model: Any  # registry.Model
    result: Any = None  # benchmarks.BenchmarkResult, the latest, or None


@dataclass
class Panel:
    rollout: Rollout
    evidence: dict[str, Any] | None
    evidence_note: str
    health: list[ProviderHealth]
    next_evaluation: NextEvaluation
    cards: list[ModelCard] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)

    @property
    def local_share(self) -> int:
        return self.rollout.stage

    @property
    def cloud_share(self) -> int:
        return 100 - self.rollout.stage

    @property
    def time_at_stage(self) -> Any:
        return timezone.now() - self.rollout.stage_entered_at


def get_rollout(tier: str) -> Rollout | None:
    return (Rollout.objects.select_related("candidate__provider", "baseline__provider")
            .filter(tier=tier).first())


def evidence_for(rollout: Rollout) -> tuple[dict[str, Any] | None, str]:
    """The gates computed now, or why there are none (stage 0: no candidate traffic)."""
    if rollout.stage == 0:
        return None, ("At 0% there is no candidate traffic to judge: advancing to the first "
                      "stage asks the local provider's health check instead (run when you "
                      "confirm).")
    return gate_evidence(rollout), ""


def build(rollout: Rollout, *, transitions: int = 20) -> Panel:
    evidence, note = evidence_for(rollout)
    return Panel(
        rollout=rollout,
        evidence=evidence,
        evidence_note=note,
        health=local_health(),
        next_evaluation=next_evaluation(rollout),
        cards=model_cards(rollout),
        transitions=list(rollout.transitions.all()[:transitions]),
    )


def local_health() -> list[ProviderHealth]:
    return list(ProviderHealth.objects.filter(provider__is_local=True)
                .select_related("provider").order_by("provider__key"))


def next_evaluation(rollout: Rollout, now: datetime | None = None) -> NextEvaluation:
    from django_q.models import Schedule

    if rollout.stage == 0:
        return NextEvaluation(None, "none: rollouts are evaluated once they are above 0%")
    next_run = (Schedule.objects.filter(func=EVALUATE_TASK)
                .values_list("next_run", flat=True).first())
    if next_run is None:
        return NextEvaluation(None, "not scheduled: run `manage.py setup_schedules`")
    now = now or timezone.now()
    seconds = (next_run - now).total_seconds()
    if seconds < -120:
        return NextEvaluation(next_run, "overdue: is the django-q cluster running?")
    when = "due now" if seconds <= 0 else f"in {seconds:.0f} s"
    action = ("advances automatically on PASS after the dwell"
              if rollout.auto_advance and rollout.status == RolloutStatus.ROLLING
              else "rolls back on FAIL, otherwise holds")
    return NextEvaluation(next_run, f"{when}; {action}")


def model_cards(rollout: Rollout) -> list[ModelCard]:
    """Candidate and baseline, each with its latest benchmark result (one query each)."""
    from benchmarks.models import BenchmarkResult

    cards = []
    for role, model in (("candidate", rollout.candidate), ("baseline", rollout.baseline)):
        if model is None:
            continue
        result = (BenchmarkResult.objects.filter(model=model).select_related("run")
                  .order_by("-created_at", "-pk").first())
        cards.append(ModelCard(role, model, result))
    return cards
