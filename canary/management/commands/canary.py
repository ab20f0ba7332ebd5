"""manage.py canary: the seed's rollout verbs, for operators and scripts."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from canary import actions
from canary.evaluation import advance_evidence, gate_evidence
from canary.models import Rollout, Transition

VERBS = ("status", "advance", "set", "pause", "resume", "rollback", "quality", "history")


class Command(BaseCommand):
    help = (
        "Canary rollouts: status, advance, set STAGE, pause, resume, rollback, quality, "
        "history. Refusals exit non-zero with the reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("verb", choices=VERBS)
        parser.add_argument("stage", nargs="?", type=int, help="for `set`: the stage (%%)")
        parser.add_argument("--tier", default="haiku")
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument(
            "--force",
            action="store_true",
            help="advance/set without passing gates (needs --reason)",
        )
        parser.add_argument("--reason", default="", help="recorded with the transition")
        parser.add_argument("--actor", default="cli", help="who is acting (recorded)")
        parser.add_argument(
            "--expect-stage", type=int, help="refuse if the rollout is no longer at this stage"
        )
        parser.add_argument(
            "--expect-status", help="refuse if the rollout no longer has this status"
        )
        parser.add_argument("--limit", type=int, default=20, help="for `history`")

    def handle(self, *args: Any, verb: str, tier: str, **o: Any) -> None:
        self.as_json = o["json"]
        try:
            rollout = Rollout.objects.select_related("candidate", "baseline").get(tier=tier)
        except Rollout.DoesNotExist:
            raise CommandError(f"no rollout for tier {tier!r}") from None
        # Without --expect-*, the state read now is what the operator acts on.
        expected = actions.Expected(
            o["expect_stage"] if o["expect_stage"] is not None else rollout.stage,
            o["expect_status"] or rollout.status,
        )
        common = {"actor": o["actor"], "expected": expected}
        try:
            if verb == "status":
                return self.emit(status(rollout))
            if verb == "quality":
                evidence = advance_evidence(tier) if rollout.stage == 0 else gate_evidence(rollout)
                return self.emit(evidence, text=quality_text(evidence))
            if verb == "history":
                return self.emit(history(rollout, o["limit"]))
            if verb == "advance":
                t = actions.advance(tier, force=o["force"], note=o["reason"], **common)
            elif verb == "set":
                if o["stage"] is None:
                    raise CommandError("set needs a stage, e.g. `canary set 25`")
                t = actions.set_stage(
                    tier, o["stage"], force=o["force"], note=o["reason"], **common
                )
            elif verb == "pause":
                t = actions.pause(tier, note=o["reason"], **common)
            elif verb == "resume":
                t = actions.resume(tier, note=o["reason"], **common)
            else:
                t = actions.rollback(tier, note=o["reason"], **common)
        except actions.RolloutRefused as exc:
            raise CommandError(str(exc)) from None
        self.emit(
            transition_dict(t),
            text=f"{tier}: {t.from_stage}% {t.from_status} → "
            f"{t.to_stage}% {t.to_status} ({t.reason})",
        )

    def emit(self, data: Any, text: str | None = None) -> None:
        if self.as_json:
            self.stdout.write(json.dumps(data, indent=2, default=str))
        elif text is not None:
            self.stdout.write(text)
        elif isinstance(data, list):
            for row in data:
                self.stdout.write(
                    f"{row['at']}  {row['from']} → {row['to']}  {row['reason']:<22}"
                    f" by {row['actor']}{'  [forced]' if row['forced'] else ''}"
                    f"{'  ' + row['note'] if row['note'] else ''}"
                )
        else:
            for key, value in data.items():
                self.stdout.write(f"{key:<16} {value}")


def status(rollout: Rollout) -> dict[str, Any]:
    at_stage = timezone.now() - rollout.stage_entered_at
    return {
        "tier": rollout.tier,
        "stage": rollout.stage,
        "status": rollout.status,
        "split": f"{rollout.stage}% local / {100 - rollout.stage}% cloud",
        "candidate": rollout.candidate.model_key if rollout.candidate else "(routing's choice)",
        "baseline": rollout.baseline.model_key if rollout.baseline else "(routing's choice)",
        "ladder": ", ".join(f"{s}%" for s in rollout.ladder),
        "time_at_stage": str(at_stage).split(".")[0],
        "auto_advance": rollout.auto_advance,
        "last_verdict": rollout.last_verdict or "(not evaluated yet)",
        "last_evaluated": rollout.last_evaluated_at or "-",
        "gates": (rollout.last_evidence or {}).get("summary", "-"),
    }


def quality_text(evidence: dict[str, Any]) -> str:
    lines = [
        f"overall: {evidence['verdict'].upper()} at stage {evidence['stage']}%",
        f"  {evidence['summary']}",
    ]
    lines += [f"  [{g['verdict'].upper():<12}] {g['sentence']}" for g in evidence.get("gates", [])]
    return "\n".join(lines)


def history(rollout: Rollout, limit: int) -> list[dict[str, Any]]:
    return [transition_dict(t) for t in rollout.transitions.all()[:limit]]


def transition_dict(t: Transition) -> dict[str, Any]:
    return {
        "at": t.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        "from": f"{t.from_stage}% {t.from_status}",
        "to": f"{t.to_stage}% {t.to_status}",
        "reason": t.reason,
        "actor": t.actor,
        "forced": t.forced,
        "note": t.note,
        "evidence": t.evidence,
    }
