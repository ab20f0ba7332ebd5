"""Benchmark workflows: load the suites, validate a request, run it, store the results.

The command, the admin and the django-q2 task all call these; none of them
repeats this logic. A request is validated completely before anything is
stored: bad input raises BenchmarkRefused (one line) and leaves no row behind.
"""

from __future__ import annotations

import dataclasses
import os
import platform
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from benchmarks import runner, suites, verdict
from benchmarks.figures import Figures, summarise
from benchmarks.models import (
    BenchmarkCall,
    BenchmarkCase,
    BenchmarkResult,
    BenchmarkRun,
    RunStatus,
    VerdictPolicy,
    Verdicts,
)
from llmcontrol.client.pool import provider_config
from llmcontrol.providers import build_adapter
from llmcontrol.routing import ProviderSpec, RoutingSnapshot
from llmcontrol.switches import ConfigError, read_switches
from registry.models import Model
from registry.snapshot import get_snapshot

DEFAULT_TIMEOUT_S = 60.0
TASK_TIMEOUT_S = 6 * 3600  # a queued run may take hours on a CPU; the cluster default is 120 s


class BenchmarkRefused(Exception):
    """A request that cannot run; the message is one line, fit for a CommandError."""


@dataclass(frozen=True)
class Target:
    """One model to benchmark: registered, or `provider/model` on a registered provider."""

    ref: str
    provider: ProviderSpec
    model_key: str
    tier: str  # "" when the model is not in the registry
    is_local: bool
    registry_id: int | None


# Suites and thresholds

def load_suites(*, update: bool = False, keys: Collection[str] | None = None) -> dict[str, int]:
    """Create the shipped cases that are missing; with `update`, also overwrite the
    shipped cases from their files (admin edits to them are lost). Cases added in the
    admin are never touched; `keys` limits the load to those cases. Also creates the
    default verdict policies that are missing."""
    counts = {"created": 0, "updated": 0, "kept": 0}
    with transaction.atomic():
        for d in suites.read_suites():
            if keys is not None and d.key not in keys:
                continue
            values = {"category": d.category, "system_prompt": d.system, "user_prompt": d.prompt,
                      "variants": list(d.variants), "check_spec": d.check, "response": d.response,
                      "max_tokens": d.max_tokens, "note": d.note, "source": d.source,
                      "position": d.position}
            case, created = BenchmarkCase.objects.get_or_create(key=d.key, defaults=values)
            if created:
                counts["created"] += 1
            elif update:
                BenchmarkCase.objects.filter(pk=case.pk).update(**values, updated_at=timezone.now())
                counts["updated"] += 1
            else:
                counts["kept"] += 1
        for thresholds in verdict.DEFAULT_THRESHOLDS:
            VerdictPolicy.objects.get_or_create(tier=thresholds.tier, defaults={
                f.name: getattr(thresholds, f.name) for f in dataclasses.fields(thresholds)
                if f.name != "tier"})
    return counts


def ensure_loaded() -> None:
    """A fresh installation benchmarks with the shipped suites without a separate step."""
    if not BenchmarkCase.objects.exists() or not VerdictPolicy.objects.exists():
        load_suites()


def policies() -> dict[str, verdict.Thresholds]:
    return {p.tier: p.thresholds() for p in VerdictPolicy.objects.all()}


# Validation: everything is checked before a run row exists.

def resolve_targets(names: Sequence[str], snapshot: RoutingSnapshot | None = None) -> list[Target]:
    """`names`: model keys, `provider/model` references (the model need not be
    registered: benchmark before you register), or provider keys (all their models).
    Empty: every active local model."""
    snapshot = snapshot or get_snapshot()
    ids = {(m.provider.key, m.model_key): m.pk for m in Model.objects.select_related("provider")}
    targets: list[Target] = []

    def add(provider_key: str, model_key: str, tier: str) -> None:
        provider = snapshot.providers[provider_key]
        ref = f"{provider_key}/{model_key}"
        if all(t.ref != ref for t in targets):
            targets.append(Target(ref, provider, model_key, tier, provider.is_local,
                                  ids.get((provider_key, model_key))))

    if not names:
        for m in snapshot.models:
            if m.is_local and m.status == "active":
                add(m.provider_key, m.model_key, m.tier)
        if not targets:
            raise BenchmarkRefused("no active local model in the registry; name one with --models")
        return targets
    for name in names:
        if name in snapshot.by_ref:
            m = snapshot.by_ref[name]
            add(m.provider_key, m.model_key, m.tier)
        elif matches := snapshot.by_key.get(name.casefold()):
            if len(matches) > 1:
                refs = ", ".join(m.ref for m in matches)
                raise BenchmarkRefused(f"model {name!r} is served by several providers; "
                                       f"name one of {refs}")
            add(matches[0].provider_key, matches[0].model_key, matches[0].tier)
        elif "/" in name and name.split("/", 1)[0] in snapshot.providers:
            add(*name.split("/", 1), "")
        elif name in snapshot.providers:
            for m in (m for m in snapshot.models if m.provider_key == name):
                add(m.provider_key, m.model_key, m.tier)
        else:
            raise BenchmarkRefused(f"unknown model {name!r}: not a registry model, "
                                   f"provider/model reference or provider key")
    return targets


def resolve_tasks(tasks: Sequence[str], *, agents: bool = False) -> list[str]:
    chosen = list(tasks) or list(runner.CORE_CATEGORIES)
    if agents:
        chosen += [c for c in runner.AGENT_CATEGORIES if c not in chosen]
    unknown = [t for t in chosen if t not in runner.CATEGORIES]
    if unknown:
        raise BenchmarkRefused(f"unknown task {unknown[0]!r}; expected one of "
                               f"{', '.join(runner.CATEGORIES)}")
    return [c for c in runner.CATEGORIES if c in chosen]


def check_credentials(targets: Sequence[Target]) -> None:
    try:
        switches = read_switches()
    except ConfigError as error:
        raise BenchmarkRefused(str(error)) from None
    for target in targets:
        provider = target.provider
        if provider.api_key_env and not provider.is_local \
                and not provider_config(provider, switches).api_key:
            raise BenchmarkRefused(f"{target.ref}: environment variable "
                                   f"{provider.api_key_env} is not set")


def build_run(*, models: Sequence[str] = (), tasks: Sequence[str] = (), agents: bool = False,
              iterations: int = 1, compare_to: str = "", timeout_s: float = DEFAULT_TIMEOUT_S,
              actor: str, status: str = RunStatus.RUNNING) -> BenchmarkRun:
    """Validate a request completely; the run it returns is not saved yet."""
    if iterations <= 0:
        raise BenchmarkRefused(f"iterations must be at least 1, got {iterations}")
    if timeout_s <= 0:
        raise BenchmarkRefused(f"the per-case timeout must be positive, got {timeout_s:g}")
    categories = resolve_tasks(tasks, agents=agents)
    targets = resolve_targets(models)
    if compare_to:
        [baseline] = resolve_targets([compare_to])
        targets = [t for t in targets if t.ref != baseline.ref] + [baseline]
    check_credentials(targets)
    ensure_loaded()
    cases = list(BenchmarkCase.objects.filter(category__in=categories, enabled=True))
    empty = [c for c in categories if all(case.category != c for case in cases)]
    if empty:
        raise BenchmarkRefused(f"no enabled case in category {empty[0]!r}: enable some in the "
                               "admin, or leave it out of the tasks")
    return BenchmarkRun(
        status=status, actor=actor, model_refs=[t.ref for t in targets], tasks=categories,
        iterations=iterations, compare_to=targets[-1].ref if compare_to else "",
        timeout_s=timeout_s, cases={c.key: c.definition() for c in cases},
        machine=f"{os.cpu_count()} CPU cores, {platform.machine()}, {platform.system()}",
        progress_total=len(targets) * len(cases) * iterations,
        started_at=timezone.now() if status == RunStatus.RUNNING else None)


def create_run(**request: Any) -> BenchmarkRun:
    """Validate the request and store the run, running (the caller executes it)."""
    run = build_run(**request)
    run.save()
    return run


def enqueue(run: BenchmarkRun) -> BenchmarkRun:
    """Store a run as queued and hand it to the django-q2 cluster once the row is committed."""
    from django_q.tasks import async_task

    run.status, run.started_at = RunStatus.QUEUED, None
    run.save()
    transaction.on_commit(lambda: async_task(
        "benchmarks.tasks.run_benchmark", run.pk, timeout=TASK_TIMEOUT_S,
        task_name=f"benchmark run {run.pk}"))
    return run


def queue_run(**request: Any) -> BenchmarkRun:
    return enqueue(build_run(**request, status=RunStatus.QUEUED))


# Execution

OnCall = Callable[[Target, runner.CallOutcome], None]


def claim(run_id: int) -> bool:
    """queued -> running, once: a task the broker delivers twice runs once."""
    return BenchmarkRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=timezone.now()) == 1


def execute_run(run: BenchmarkRun, on_call: OnCall | None = None) -> BenchmarkRun:
    """Run every model of a running run and store its results; never leaves it running."""
    try:
        targets = [t for ref in run.model_refs for t in resolve_targets([ref])]
        # The definitions recorded with the run: an admin edit after queueing changes nothing.
        cases = [BenchmarkCase(key=key, category=d["category"], system_prompt=d["system"],
                               user_prompt=d["prompt"], variants=d["variants"],
                               check_spec=d["check"], response=d["response"],
                               max_tokens=d["max_tokens"]).spec()
                 for key, d in run.cases.items()]
        cases.sort(key=lambda c: runner.CATEGORIES.index(c.category))
        thresholds = policies()
        done = 0
        for target in targets:
            def progress(outcome: runner.CallOutcome, target: Target = target) -> None:
                nonlocal done
                done += 1
                BenchmarkRun.objects.filter(pk=run.pk).update(
                    progress_done=done, current=f"{target.ref}: {outcome.case_key}")
                if on_call is not None:
                    on_call(target, outcome)
            model_run = run_target(target, cases, run.iterations, run.timeout_s, progress)
            store_result(run, target, model_run, thresholds)
    except BaseException as error:  # noqa: B036 - Ctrl-C must not leave a run "running"
        BenchmarkRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, finished_at=timezone.now(),
            error=f"{type(error).__name__}: {error}"[:2000])
        raise
    BenchmarkRun.objects.filter(pk=run.pk).update(status=RunStatus.DONE,
                                                  finished_at=timezone.now(), current="")
    run.refresh_from_db()
    return run


def run_target(target: Target, cases: Sequence[runner.CaseSpec], iterations: int,
               timeout_s: float, progress: runner.Progress | None = None) -> runner.ModelRun:
    """One model, through its provider as routing reaches it, without retries: a
    benchmark reports what one call does (a retried call would hide its error and
    its time)."""
    config = dataclasses.replace(provider_config(target.provider, read_switches()),
                                 max_retries=0, timeout_s=min(timeout_s,
                                                              target.provider.timeout_ms / 1000))
    adapter = build_adapter(config)
    try:
        return runner.run_model(runner.Runner(adapter, target.model_key, timeout_s=timeout_s),
                                cases, iterations, progress)
    finally:
        adapter.close()


def judge_all(figures: Figures, thresholds: dict[str, verdict.Thresholds],
              is_local: bool) -> dict[str, verdict.Verdict]:
    judged = {tier: verdict.judge(figures, t, is_local=is_local) for tier, t in thresholds.items()}
    if is_local and "opus" not in judged:
        judged["opus"] = verdict.Verdict("opus", verdict.Status.NEVER_LOCAL)
    return judged


def store_result(run: BenchmarkRun, target: Target, model_run: runner.ModelRun,
                 thresholds: dict[str, verdict.Thresholds]) -> BenchmarkResult:
    figures = summarise(model_run.calls)
    judged = judge_all(figures, thresholds, target.is_local)
    own = judged.get(target.tier)
    values = figures.as_dict()
    warm = model_run.warm_up
    with transaction.atomic():
        result = BenchmarkResult.objects.create(
            run=run, model_id=target.registry_id, model_ref=target.ref, tier=target.tier,
            is_local=target.is_local, is_baseline=bool(run.compare_to == target.ref),
            warm_up_ms=warm.latency_ms, warm_up_error=warm.reason[:500] if warm.errored else "",
            verdict=own.status.value if own else (Verdicts.NO_POLICY if target.tier else ""),
            verdict_reasons=list(own.reasons) if own else [],
            verdicts={t: {"status": v.status.value, "reasons": list(v.reasons)}
                      for t, v in judged.items()},
            **values)
        BenchmarkCall.objects.bulk_create(
            BenchmarkCall(result=result, case_key=c.case_key, category=c.category,
                          iteration=c.iteration, passed=c.passed, reason=c.reason[:500],
                          error_kind=c.error_kind, answer=c.answer, latency_ms=c.latency_ms,
                          ttft_ms=c.ttft_ms, ttfat_ms=c.ttfat_ms, input_tokens=c.input_tokens,
                          output_tokens=c.output_tokens, measured_tps=c.measured_tps,
                          server_tps=c.server_tps, think_leaked=c.think_leaked,
                          json_valid=c.json_valid, finish_reason=c.finish_reason or "")
            for c in model_run.calls)
    return result
