"""manage.py benchmark and benchmark_history against the fake servers."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from benchmarks.models import BenchmarkCall, BenchmarkCase, BenchmarkResult, BenchmarkRun
from tests.fakes.behaviours import Reply

CLASSIFY = {"key": "classify-a", "category": "classify", "user_prompt": "Export is broken.",
            "check_spec": {"kind": "label", "labels": ["bug", "docs"], "expected": "bug"}}
JSON = {"key": "json-a", "category": "json", "user_prompt": "Extract the city.",
        "response": "json", "check_spec": {"kind": "json_schema", "schema": {
            "type": "object", "properties": {"city": {"const": "Lisbon"}}}}}
SPEED = {"key": "speed-a", "category": "speed", "user_prompt": "Describe {variant}.",
         "variants": ["a", "b"], "check_spec": {"kind": "regex", "pattern": r"\w"}}


def benchmark(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("benchmark", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("args", "message"), [
    (["--models", "nope"],
     "unknown model 'nope': not a registry model, provider/model reference or provider key"),
    (["--models", "llama3.2:3b", "--tasks", "speed,poetry"],
     "unknown task 'poetry'; expected one of speed, classify, json, instruct, rca, design, "
     "quickfix, schema, review"),
    (["--models", "llama3.2:3b", "--iterations", "0"], "iterations must be at least 1, got 0"),
    (["--models", "llama3.2:3b", "--iterations", "-3"], "iterations must be at least 1, got -3"),
    (["--models", "llama3.2:3b", "--timeout", "0"],
     "the per-case timeout must be positive, got 0"),
    (["--models", "llama3.2:3b", "--compare-to", "gpt-9"],
     "unknown model 'gpt-9': not a registry model, provider/model reference or provider key"),
    (["--models", "claude-haiku-3-5-20241022"],
     "anthropic/claude-haiku-3-5-20241022: environment variable ANTHROPIC_API_KEY is not set"),
    (["--models", "llama3.2:3b", "--output", "/no/such/dir/run.json"],
     "cannot write /no/such/dir/run.json: directory /no/such/dir does not exist"),
])
def test_bad_input_is_one_line_and_stores_nothing(bench_registry: dict, args: list[str],
                                                  message: str) -> None:
    with pytest.raises(CommandError) as raised:
        benchmark(*args)
    assert str(raised.value) == message
    assert BenchmarkRun.objects.count() == BenchmarkCase.objects.count() == 0
    assert bench_registry["ollama"].requests == []


def test_an_output_path_that_is_a_directory_is_refused(bench_registry: dict,
                                                       tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=f"^cannot write {tmp_path}: it is a directory$"):
        benchmark("--models", "llama3.2:3b", "--output", str(tmp_path))
    assert BenchmarkRun.objects.count() == 0


def test_a_category_without_enabled_cases_is_refused(bench_registry: dict,
                                                     only_cases) -> None:
    only_cases(CLASSIFY)
    with pytest.raises(CommandError) as raised:
        benchmark("--models", "llama3.2:3b", "--tasks", "instruct,classify")
    assert str(raised.value) == "no enabled case in category 'instruct': enable some in the " \
                                "admin, or leave it out of the tasks"
    assert BenchmarkRun.objects.count() == 0


def test_a_run_is_stored_printed_and_exported(bench_registry: dict, only_cases,
                                              tmp_path: Path) -> None:
    only_cases(CLASSIFY, JSON, SPEED)
    ollama = bench_registry["ollama"]
    ollama.enqueue(Reply("ready"),
                   Reply("A long text."), Reply("bug"), Reply('{"city": "Lisbon"}'),
                   Reply("Another text."), Reply("Bug."), Reply('{"city": "Porto"}'))
    output = tmp_path / "run.json"
    out, err = benchmark("--models", "llama3.2:3b", "--tasks", "speed,classify,json",
                         "--iterations", "2", "--output", str(output))

    run = BenchmarkRun.objects.get()
    assert (run.status, run.actor, run.iterations, run.model_refs, run.tasks) == (
        "done", "cli", 2, ["ollama/llama3.2:3b"], ["speed", "classify", "json"])
    assert (run.progress_done, run.progress_total, run.current) == (6, 6, "")
    result = BenchmarkResult.objects.get()
    assert (result.model_ref, result.tier, result.is_local, result.model.model_key) == (
        "ollama/llama3.2:3b", "haiku", True, "llama3.2:3b")
    assert (result.generation_tps, result.generation_tps_stddev, result.tps_source) == (
        50.0, 0.0, "server")
    assert (result.prompt_tps, result.server_tps) == (1000.0, 50.0)
    assert result.pass_rates == {"speed": 100.0, "classify": 50.0, "json": 50.0}
    assert (result.json_valid_pct, result.think_leak_pct, result.empty_or_truncated_pct) == (
        100.0, 0.0, 0.0)
    assert (result.calls, result.errors, result.verdict) == (6, 0, "not_eligible")
    assert result.verdict_reasons == ["classify 50% < 90%", "json 50% < 90%", "instruct not run"]
    assert list(BenchmarkCall.objects.values_list("case_key", "iteration", "passed")) == [
        ("speed-a", 0, True), ("classify-a", 0, True), ("json-a", 0, True),
        ("speed-a", 1, True), ("classify-a", 1, False), ("json-a", 1, False)]
    # The speed prompt changed between iterations; temperature was pinned.
    chats = [r.body for r in ollama.requests if r.path == "/api/chat"]
    assert [c["messages"][-1]["content"] for c in chats if "Describe" in
            c["messages"][-1]["content"]] == ["Describe a.", "Describe b."]
    assert {c["options"]["temperature"] for c in chats} == {0.0}

    header, rule, row = out.splitlines()[:3]
    assert header == ("| model | tok/s | 1st answer p50 | p95 latency | classify | json | "
                      "JSON valid | leaks | empty/trunc. | errors | verdict |")
    assert row.startswith("| ollama/llama3.2:3b | 50.0 ± 0.0 (server) | ")
    assert row.endswith(" | 50% | 50% | 100% | 0% | 0% | 0/6 | not eligible (haiku) |")
    assert "ollama/llama3.2:3b: classify 50% < 90%; json 50% < 90%; instruct not run" in out
    assert f"Stored as benchmark run {run.pk}" in out
    assert f"benchmark run {run.pk}: ollama/llama3.2:3b; speed, classify, json; 2 iteration(s)" \
        in err

    exported = json.loads(output.read_text())
    assert exported["run"]["id"] == run.pk and exported["run"]["status"] == "done"
    [model] = exported["results"]
    assert model["figures"]["generation_tps"] == 50.0
    assert model["verdict"] == {"tier": "haiku", "status": "not_eligible",
                                "reasons": ["classify 50% < 90%", "json 50% < 90%",
                                            "instruct not run"]}
    assert [(c["case_key"], c["answer"], c["reason"]) for c in model["calls"]][3:5] == [
        ("speed-a", "Another text.", ""), ("classify-a", "Bug.", "'Bug.' is not one of bug, docs")]


CHECK_CASES = [
    ({"kind": "label", "labels": ["bug", "docs"], "expected": "docs"}, " Docs ", "bug",
     "labelled bug, expected docs"),
    ({"kind": "one_of", "values": ["yes", "y"]}, "Y", "maybe", "'maybe' is not one of yes, y"),
    ({"kind": "json_schema", "schema": {"type": "object", "required": ["n"]}}, '{"n": 1}', "{}",
     "schema: at (root): 'n' is a required property"),
    ({"kind": "regex", "pattern": r"^\d{3}$"}, "123", "12", r"'12' does not match /^\d{3}$/"),
    ({"kind": "line_count", "lines": 2}, "a\nb", "a b", "1 non-blank line(s), expected 2"),
    ({"kind": "equals", "value": "42"}, "42", "41", "'41' is not '42'"),
    ({"kind": "contains", "values": ["unique"]}, "email UNIQUE", "email", "missing 'unique'"),
    ({"kind": "not_contains", "values": ["error"]}, "fine", "an error", "contains 'error'"),
    ({"kind": "all", "checks": [{"kind": "equals", "value": "ok"}]}, "ok", "ko",
     "'ko' is not 'ok'"),
]


def test_every_check_kind_through_the_fake_server(bench_registry: dict, only_cases) -> None:
    only_cases(*[{"key": f"instruct-{i}", "category": "instruct", "user_prompt": "Do it.",
                  "check_spec": spec} for i, (spec, *_) in enumerate(CHECK_CASES)])
    answers = [good for _, good, _, _ in CHECK_CASES] + [bad for _, _, bad, _ in CHECK_CASES]
    bench_registry["ollama"].enqueue(Reply("ready"), *[Reply(a) for a in answers])
    benchmark("--models", "llama3.2:3b", "--tasks", "instruct", "--iterations", "2")
    calls = list(BenchmarkCall.objects.values_list("iteration", "passed", "reason"))
    assert calls == [(0, True, "")] * len(CHECK_CASES) + [
        (1, False, reason) for *_, reason in CHECK_CASES]


def test_server_statistics_and_measured_rates_are_labelled(bench_registry: dict,
                                                           only_cases) -> None:
    only_cases(SPEED)
    bench_registry["llamacpp"].default = Reply("one two three four", include_usage=False)
    benchmark("--models", "llama3.2:3b,smollm2-135m-instruct", "--tasks", "speed",
              "--iterations", "2")
    ollama, llamacpp = BenchmarkResult.objects.order_by("pk")
    assert (ollama.tps_source, ollama.generation_tps, ollama.server_tps) == ("server", 50.0, 50.0)
    assert ollama.measured_tps is not None and ollama.measured_tps > 0
    assert (llamacpp.tps_source, llamacpp.server_tps, llamacpp.prompt_tps) == ("measured", None,
                                                                               None)
    assert llamacpp.generation_tps == llamacpp.measured_tps and llamacpp.generation_tps > 0
    assert llamacpp.tps_samples == 2


def test_a_model_that_errors_on_every_case_is_reported(bench_registry: dict, only_cases) -> None:
    only_cases(*[{**CLASSIFY, "key": f"classify-{i}"} for i in range(4)])
    bench_registry["ollama"].strict_models = True  # Ollama's 404 for a model never pulled
    out, _ = benchmark("--models", "ollama/not-pulled:7b,llama3.2:3b", "--tasks", "classify",
                       "--iterations", "2")
    failed, fine = BenchmarkResult.objects.order_by("pk")
    assert (failed.model_ref, failed.model, failed.tier) == ("ollama/not-pulled:7b", None, "")
    assert (failed.calls, failed.errors) == (8, 8)
    assert failed.error_kinds == {"model_not_found": 5, "skipped": 3}
    assert failed.warm_up_error == \
        "ollama/not-pulled:7b: model_not_found: model 'not-pulled:7b' not found (HTTP 404)"
    assert failed.verdict == "" and failed.verdicts["haiku"]["status"] == "not_eligible"
    assert "errors 100% > 2%" in failed.verdicts["haiku"]["reasons"]
    assert (fine.calls, fine.errors) == (8, 0)
    assert BenchmarkRun.objects.get().status == "done"
    assert "| ollama/not-pulled:7b | — |" in out
    assert "| 8/8 | not registered; eligible: none |" in out


def test_compare_to_runs_the_baseline_and_reports_the_differences(bench_registry: dict,
                                                                  only_cases) -> None:
    only_cases(CLASSIFY)
    bench_registry["ollama"].default = Reply("bug")
    bench_registry["llamacpp"].default = Reply("docs")
    out, _ = benchmark("--models", "llama3.2:3b", "--compare-to", "smollm2-135m-instruct",
                       "--tasks", "classify", "--iterations", "1", "--verbose")
    run = BenchmarkRun.objects.get()
    assert run.model_refs == ["ollama/llama3.2:3b", "llamacpp-local/smollm2-135m-instruct"]
    assert run.compare_to == "llamacpp-local/smollm2-135m-instruct"
    assert list(BenchmarkResult.objects.order_by("pk").values_list("is_baseline", flat=True)) == [
        False, True]
    assert "| llamacpp-local/smollm2-135m-instruct (baseline) |" in out
    assert "Compared with llamacpp-local/smollm2-135m-instruct:\n" \
           "  ollama/llama3.2:3b: classify +100 pts" in out
    # --verbose: one line per call
    assert re.search(r"^ollama/llama3.2:3b classify-a #1: PASS \d+ ms 'bug'$", out, re.M)
    assert re.search(r"^llamacpp-local/smollm2-135m-instruct classify-a #1: FAIL \d+ ms "
                     r"'docs' — labelled docs, expected bug$", out, re.M)


def test_agents_adds_the_agent_workloads_and_a_provider_key_means_its_models(
        bench_registry: dict) -> None:
    benchmark("--models", "llamacpp-local", "--tasks", "classify", "--agents",
              "--iterations", "1")
    run = BenchmarkRun.objects.get()
    assert run.model_refs == ["llamacpp-local/smollm2-135m-instruct"]
    assert run.tasks == ["classify", "rca", "design", "quickfix", "schema", "review"]
    assert set(BenchmarkCall.objects.values_list("category", flat=True)) == set(run.tasks)


def test_default_models_are_the_active_local_ones(bench_registry: dict, only_cases) -> None:
    only_cases(CLASSIFY)
    benchmark("--tasks", "classify", "--iterations", "1")
    assert BenchmarkRun.objects.get().model_refs == [
        "ollama/qwen3-coder:30b", "ollama/llama3.2:3b", "llamacpp-local/smollm2-135m-instruct"]


def test_history_is_written_as_markdown(bench_registry: dict, only_cases, tmp_path: Path) -> None:
    only_cases(CLASSIFY)
    bench_registry["ollama"].default = Reply("bug")
    benchmark("--models", "llama3.2:3b", "--tasks", "classify", "--iterations", "1")
    run = BenchmarkRun.objects.get()
    path = tmp_path / "BENCHMARK_HISTORY.md"
    err = StringIO()
    call_command("benchmark_history", "--output", str(path), stderr=err)
    text = path.read_text()
    assert text.startswith("# Benchmark history\n\nWritten by `manage.py benchmark_history`")
    assert f"\n## Run {run.pk} — " in text and "(done)\n" in text
    assert "- tasks: classify; iterations: 1; per-case timeout: 60 s\n" in text
    assert "| ollama/llama3.2:3b | — | " in text  # no speed case, too short to time
    assert "- ollama/llama3.2:3b: json not run; instruct not run" in text
    assert err.getvalue() == f"wrote {path} (1 run(s))\n"
    with pytest.raises(CommandError, match="^--limit must be at least 1, got 0$"):
        call_command("benchmark_history", "--limit", "0")


def test_an_interrupted_run_is_stored_as_failed(bench_registry: dict, only_cases) -> None:
    from benchmarks import actions

    only_cases(CLASSIFY)
    run = actions.create_run(models=["llama3.2:3b"], tasks=["classify"], actor="test")

    def interrupt(target, outcome) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        actions.execute_run(run, interrupt)
    run.refresh_from_db()
    assert (run.status, run.error) == ("failed", "KeyboardInterrupt: ")
    assert run.finished_at is not None and BenchmarkResult.objects.count() == 0
