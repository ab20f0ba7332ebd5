"""The schedules llmcontrol runs, declared in code; `manage.py setup_schedules` reconciles them."""

from __future__ import annotations

from dataclasses import dataclass

from django_q.models import Schedule


@dataclass(frozen=True)
class Declared:
    name: str
    func: str
    minutes: int


SCHEDULES = (
    Declared("llmcontrol: evaluate rollouts", "canary.tasks.evaluate_rollouts", 1),
    Declared("llmcontrol: check local providers", "canary.tasks.check_local_health", 1),
    Declared("llmcontrol: prune metrics", "canary.tasks.prune_metrics", 60),
    Declared("llmcontrol: roll up closed hours", "canary.hourly.roll_up_closed_hours", 5),
)
PREFIX = "llmcontrol: "


def reconcile() -> dict[str, int]:
    """Create or update each declared schedule by name; remove ours that are no longer declared."""
    created = updated = 0
    for declared in SCHEDULES:
        _, made = Schedule.objects.update_or_create(
            name=declared.name,
            defaults={"func": declared.func, "schedule_type": Schedule.MINUTES,
                      "minutes": declared.minutes, "repeats": -1},
        )
        created += made
        updated += not made
    names = [d.name for d in SCHEDULES]
    removed, _ = Schedule.objects.filter(name__startswith=PREFIX).exclude(name__in=names).delete()
    return {"created": created, "updated": updated, "removed": removed}
