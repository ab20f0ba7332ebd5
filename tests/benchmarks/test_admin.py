"""The admin: cases and thresholds, queueing a run, its progress, chart and export, and the
verdict next to each model in the registry."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from benchmarks import actions, tasks
from benchmarks.models import BenchmarkResult, BenchmarkRun
from registry.models import Model
from tests.fakes.behaviours import Reply

CLASSIFY = {"key": "classify-a", "category": "classify", "user_prompt": "Export is broken.",
            "check_spec": {"kind": "label", "labels": ["bug", "docs"], "expected": "bug"}}


@pytest.fixture
def finished_run(bench_registry: dict, only_cases) -> BenchmarkRun:
    only_cases(CLASSIFY)
    bench_registry["ollama"].default = Reply("bug")
    run = actions.create_run(models=["llama3.2:3b", "smollm2-135m-instruct"], tasks=["classify"],
                             actor="test")
    return actions.execute_run(run)


def test_case_and_policy_pages(admin_client: Client, bench_registry: dict) -> None:
    actions.load_suites()
    listing = admin_client.get(reverse("admin:benchmarks_benchmarkcase_changelist"),
                               {"category__exact": "classify"})
    assert listing.status_code == 200
    assert b"classify-dark-mode" in listing.content and b"speed-tradeoffs" not in listing.content
    case = actions.BenchmarkCase.objects.get(key="classify-dark-mode")
    page = admin_client.get(reverse("admin:benchmarks_benchmarkcase_change", args=[case.pk]))
    assert page.status_code == 200 and b"dark mode toggle" in page.content
    assert admin_client.get(reverse("admin:benchmarks_verdictpolicy_changelist")).status_code == 200


def test_restoring_a_case_from_its_file(admin_client: Client, bench_registry: dict) -> None:
    actions.load_suites()
    case = actions.BenchmarkCase.objects.get(key="classify-dark-mode")
    actions.BenchmarkCase.objects.filter(pk=case.pk).update(user_prompt="edited")
    response = admin_client.post(reverse("admin:benchmarks_benchmarkcase_changelist"), {
        "action": "restore_from_files", "_selected_action": [case.pk]}, follow=True)
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.user_prompt.startswith("Please add a dark mode toggle")


def test_a_run_queued_from_the_admin_runs_in_the_cluster_task(
        admin_client: Client, bench_registry: dict, only_cases,
        django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch) -> None:
    only_cases(CLASSIFY)
    queued: list[tuple] = []
    monkeypatch.setattr("django_q.tasks.async_task",
                        lambda func, *args, **options: queued.append((func, args, options)))
    add_url = reverse("admin:benchmarks_benchmarkrun_add")
    assert admin_client.get(add_url).status_code == 200
    model = Model.objects.get(model_key="llama3.2:3b")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(add_url, {"models_to_run": [model.pk],
                                               "categories": ["classify"], "iterations": 2,
                                               "timeout_s": 30})
    run = BenchmarkRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:benchmarks_benchmarkrun_change", args=[run.pk])
    assert (run.status, run.actor, run.model_refs, run.iterations, run.progress_total) == (
        "queued", "admin", ["ollama/llama3.2:3b"], 2, 2)
    assert queued == [("benchmarks.tasks.run_benchmark", (run.pk,),
                       {"timeout": actions.TASK_TIMEOUT_S,
                        "task_name": f"benchmark run {run.pk}"})]

    page = admin_client.get(response["Location"])
    assert b'<meta http-equiv="refresh" content="3">' in page.content  # the progress view
    assert b"0 / 2 calls (0%)" in page.content

    bench_registry["ollama"].default = Reply("bug")
    assert tasks.run_benchmark(run.pk) == f"run {run.pk}: done, 1 result(s)"
    assert tasks.run_benchmark(run.pk) == "not queued"  # a second delivery does nothing
    assert BenchmarkResult.objects.count() == 1
    page = admin_client.get(response["Location"])
    assert b"2 / 2 calls (100%)" in page.content and b"http-equiv" not in page.content
    assert reverse("admin:benchmarks_benchmarkrun_chart", args=[run.pk, "svg"]).encode() \
        in page.content


def test_the_add_form_shows_a_refused_request(admin_client: Client, bench_registry: dict,
                                              only_cases) -> None:
    only_cases(CLASSIFY)
    model = Model.objects.get(model_key="claude-haiku-3-5-20241022")
    response = admin_client.post(reverse("admin:benchmarks_benchmarkrun_add"), {
        "models_to_run": [model.pk], "categories": ["classify"], "iterations": 1,
        "timeout_s": 30})
    assert response.status_code == 200
    assert "anthropic/claude-haiku-3-5-20241022: environment variable ANTHROPIC_API_KEY is " \
           "not set" in response.content.decode()
    assert BenchmarkRun.objects.count() == 0


def test_chart_and_export_downloads(admin_client: Client, finished_run: BenchmarkRun) -> None:
    svg = admin_client.get(reverse("admin:benchmarks_benchmarkrun_chart",
                                   args=[finished_run.pk, "svg"]))
    assert (svg.status_code, svg["Content-Type"]) == (200, "image/svg+xml")
    assert svg.content.startswith(b"<?xml") and b"<svg" in svg.content
    assert b"pass rate per category" in svg.content
    png = admin_client.get(reverse("admin:benchmarks_benchmarkrun_chart",
                                   args=[finished_run.pk, "png"]))
    assert (png.status_code, png["Content-Type"]) == (200, "image/png")
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert png["Content-Disposition"] == \
        f'attachment; filename="benchmark-run-{finished_run.pk}.png"'
    assert admin_client.get(reverse("admin:benchmarks_benchmarkrun_chart",
                                    args=[finished_run.pk, "gif"])).status_code == 404
    export = admin_client.get(reverse("admin:benchmarks_benchmarkrun_export",
                                      args=[finished_run.pk]))
    data = json.loads(export.content)
    assert [r["model"] for r in data["results"]] == ["ollama/llama3.2:3b",
                                                     "llamacpp-local/smollm2-135m-instruct"]
    assert len(data["results"][0]["calls"]) == 1


def test_result_page_lists_its_calls(admin_client: Client, finished_run: BenchmarkRun) -> None:
    result = finished_run.results.first()
    page = admin_client.get(reverse("admin:benchmarks_benchmarkresult_change", args=[result.pk]))
    assert page.status_code == 200 and b"classify-a" in page.content


def test_registry_admin_shows_the_latest_verdict_without_a_query_per_model(
        admin_client: Client, finished_run: BenchmarkRun) -> None:
    url = reverse("admin:registry_model_changelist")
    page = admin_client.get(url).content.decode()
    result = BenchmarkResult.objects.get(model_ref="ollama/llama3.2:3b")
    link = reverse("admin:benchmarks_benchmarkresult_change", args=[result.pk])
    assert f'<a href="{link}">incomplete (haiku)</a>' in page  # classify passed; json not run
    assert page.count("not benchmarked") == Model.objects.count() - 2
    with CaptureQueriesContext(connection) as before:
        admin_client.get(url)
    run = actions.create_run(models=["qwen3-coder:30b", "llama3.2:3b"], tasks=["classify"],
                             actor="test")
    actions.execute_run(run)  # two more results, one of them for a new model
    with CaptureQueriesContext(connection) as after:
        page = admin_client.get(url).content.decode()
    assert len(after.captured_queries) == len(before.captured_queries)
    newer = BenchmarkResult.objects.filter(model_ref="ollama/llama3.2:3b").latest("created_at")
    assert reverse("admin:benchmarks_benchmarkresult_change", args=[newer.pk]) in page
    model = Model.objects.get(model_key="llama3.2:3b")
    change = admin_client.get(reverse("admin:registry_model_change", args=[model.pk]))
    assert b"Latest benchmark" in change.content and b"incomplete (haiku)" in change.content
