"""The control room's admin views: overview, one tier, and the confirmation pages.

Every change goes through `canary.actions` with the stage and status the
confirmation page showed (so a stale page is refused with what changed); these
views only validate input and show results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from canary import actions, savings
from canary.dashboard import panel
from canary.dashboard.forms import ActionForm, GatedActionForm, SetStageForm
from canary.dashboard.series import DEFAULT_WINDOW, WINDOWS, tier_series
from canary.models import MetricLoss, Rollout, RolloutStatus, Transition


@dataclass(frozen=True)
class Verb:
    key: str
    title: str
    form: type[ActionForm]
    run: Callable[[Rollout, dict[str, Any], str, actions.Expected], Transition]
    offered: Callable[[Rollout], bool]  # whether the tier page shows its button
    gated: bool = False  # the gates decide (their evidence is the point of the page)


VERBS = {
    verb.key: verb for verb in (
        Verb("advance", "Advance to the next stage", GatedActionForm,
             lambda r, d, actor, seen: actions.advance(
                 r.tier, actor=actor, expected=seen, force=d["force"], note=d["reason"]),
             lambda r: r.status != RolloutStatus.ROLLED_BACK and r.stage < 100, gated=True),
        Verb("set-stage", "Set the stage", SetStageForm,
             lambda r, d, actor, seen: actions.set_stage(
                 r.tier, d["stage"], actor=actor, expected=seen, force=d["force"],
                 note=d["reason"]),
             lambda r: r.status != RolloutStatus.ROLLED_BACK, gated=True),
        Verb("pause", "Pause", ActionForm,
             lambda r, d, actor, seen: actions.pause(
                 r.tier, actor=actor, expected=seen, note=d["reason"]),
             lambda r: r.status == RolloutStatus.ROLLING),
        Verb("resume", "Resume", ActionForm,
             lambda r, d, actor, seen: actions.resume(
                 r.tier, actor=actor, expected=seen, note=d["reason"]),
             lambda r: r.status in (RolloutStatus.PAUSED, RolloutStatus.ROLLED_BACK)),
        Verb("rollback", "Roll back to 0% (all cloud)", ActionForm,
             lambda r, d, actor, seen: actions.rollback(
                 r.tier, actor=actor, expected=seen, note=d["reason"]),
             lambda r: not (r.status == RolloutStatus.ROLLED_BACK and r.stage == 0)),
    )
}


class Dashboard:
    """Views bound to the Rollout admin (its site, permissions and templates)."""

    def __init__(self, model_admin: admin.ModelAdmin) -> None:
        self.model_admin = model_admin

    def overview(self, request: HttpRequest) -> HttpResponse:
        self._require(request, "view")
        rollouts = list(Rollout.objects.select_related("candidate", "baseline"))
        for rollout in rollouts:
            rollout.cloud_share = 100 - rollout.stage  # type: ignore[attr-defined]
        now = timezone.now()
        report = savings.savings(now - timedelta(days=7), now)
        # Gates judged traffic whose rows were partly lost: say so where rollouts are run.
        losses = MetricLoss.objects.filter(reported_at__gte=now - timedelta(days=1)).aggregate(
            dropped=Sum("dropped"), sources=Count("source", distinct=True))
        return self._render(request, "overview", "Rollout control room", {
            "rollouts": rollouts, "health": panel.local_health(), "savings": report,
            "now": now, "losses": losses,
        })

    def tier(self, request: HttpRequest, tier: str) -> HttpResponse:
        self._require(request, "view")
        rollout = self._rollout(request, tier)
        if isinstance(rollout, HttpResponse):
            return rollout
        key = request.GET.get("window", DEFAULT_WINDOW)
        window = WINDOWS.get(key)
        if window is None:
            return self._problem(request, 400, f"Unknown window {key!r}: choose one of "
                                               f"{', '.join(WINDOWS)}.")
        from canary.dashboard.charts import render_svg

        state = panel.build(rollout)
        series = tier_series(rollout.pk, tier, window)
        report = savings.savings(series.start, series.end, (tier,))
        return self._render(request, "tier", f"{tier} rollout", {
            "panel": state, "rollout": rollout, "series": series, "chart": render_svg(series),
            "windows": WINDOWS.values(), "window": window, "savings": report,
            "verbs": [v for v in VERBS.values() if v.offered(rollout)],
        })

    def act(self, request: HttpRequest, tier: str, verb: str) -> HttpResponse:
        self._require(request, "change")
        rollout = self._rollout(request, tier)
        if isinstance(rollout, HttpResponse):
            return rollout
        spec = VERBS.get(verb)
        if spec is None:
            return self._problem(request, 404, f"Unknown action {verb!r}: choose one of "
                                               f"{', '.join(VERBS)}.")
        form = self._form(spec, rollout, request.POST if request.method == "POST" else None)
        error, status = "", 200
        if request.method == "POST" and form.is_valid():
            actor = request.user.get_username()
            try:
                transition = spec.run(rollout, form.cleaned_data, actor, form.expected())
            except actions.RolloutRefused as exc:
                # Nothing changed. Show why, with the rollout as it is now, keeping the
                # reason typed; confirming again acts on what this page now shows.
                error = str(exc)
                status = 409
                rollout = panel.get_rollout(tier) or rollout
                form = self._form(spec, rollout, None, keep=form.cleaned_data)
            else:
                messages.success(request, f"{tier}: {transition.from_stage}% "
                                          f"{transition.from_status} → {transition.to_stage}% "
                                          f"{transition.to_status} ({transition.reason}).")
                return HttpResponseRedirect(reverse("admin:canary_dashboard_tier", args=[tier]))
        evidence, note = panel.evidence_for(rollout)
        response = self._render(request, "confirm", f"{spec.title}: {tier}", {
            "rollout": rollout, "verb": spec, "form": form, "error": error,
            "evidence": evidence, "evidence_note": note, "health": panel.local_health(),
        })
        response.status_code = status
        return response

    # Helpers

    def _form(self, spec: Verb, rollout: Rollout, data: Any, keep: dict[str, Any] | None = None
              ) -> ActionForm:
        initial = {"expected_stage": rollout.stage, "expected_status": rollout.status}
        if keep:
            initial.update({k: v for k, v in keep.items() if k in ("reason", "stage", "force")})
        kwargs: dict[str, Any] = {"initial": initial}
        if spec.form is SetStageForm:
            kwargs.update(ladder=list(rollout.ladder), current=rollout.stage)
        return spec.form(data, **kwargs)

    def _rollout(self, request: HttpRequest, tier: str) -> Rollout | HttpResponse:
        rollout = panel.get_rollout(tier)
        if rollout is None:
            known = ", ".join(Rollout.objects.values_list("tier", flat=True)) or "none yet"
            return self._problem(request, 404, f"No rollout for tier {tier!r} (rollouts: "
                                               f"{known}).")
        return rollout

    def _require(self, request: HttpRequest, permission: str) -> None:
        check = getattr(self.model_admin, f"has_{permission}_permission")
        if not check(request):
            raise PermissionDenied

    def _problem(self, request: HttpRequest, status: int, message: str) -> HttpResponse:
        response = self._render(request, "problem", "Control room", {"message": message})
        response.status_code = status
        return response

    def _render(self, request: HttpRequest, template: str, title: str,
                context: dict[str, Any]) -> TemplateResponse:
        opts = self.model_admin.model._meta
        return TemplateResponse(request, f"admin/canary/dashboard/{template}.html", {
            **self.model_admin.admin_site.each_context(request), "title": title, "opts": opts,
            "app_label": opts.app_label, **context,
        })
