"""The real bundled SmolLM2-135M (llama.cpp server) through `manage.py benchmark`."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from benchmarks.models import BenchmarkCall, BenchmarkResult, BenchmarkRun
from llmcontrol.client import pool
from llmcontrol.providers.local_model import MODEL_ALIAS


@pytest.mark.slow
def test_the_real_model_is_benchmarked_and_stored(db: None, smollm2_server: str,
                                                  tmp_path: Path) -> None:
    from registry.actions import bump_version, seed_defaults
    from registry.models import Provider

    seed_defaults()
    Provider.objects.filter(key="llamacpp-local").update(base_url=smollm2_server)
    bump_version()
    output = tmp_path / "run.json"
    out = StringIO()
    try:
        call_command("benchmark", "--models", MODEL_ALIAS, "--tasks", "speed,classify,json",
                     "--iterations", "1", "--output", str(output), stdout=out, stderr=StringIO())
    finally:
        pool.close_all()

    run = BenchmarkRun.objects.get()
    result = BenchmarkResult.objects.get()
    assert (run.status, result.model_ref) == ("done", f"llamacpp-local/{MODEL_ALIAS}")
    # llama-cpp-python reports no timings in its API: the rate is measured from the stream.
    assert result.tps_source == "measured" and result.generation_tps > 0
    assert result.tps_samples == BenchmarkCall.objects.filter(category="speed").count()
    assert result.ttfat_ms > 0 and result.latency_p95_ms >= result.latency_p50_ms > 0
    assert set(result.pass_rates) == {"speed", "classify", "json"}
    assert all(0.0 <= rate <= 100.0 for rate in result.pass_rates.values())
    assert result.errors == 0 and result.warm_up_error == ""
    assert 0.0 <= result.json_valid_pct <= 100.0
    assert result.verdict in {"eligible", "not_eligible", "incomplete"}
    assert f"| llamacpp-local/{MODEL_ALIAS} | " in out.getvalue()
    assert json.loads(output.read_text())["results"][0]["figures"]["generation_tps"] == \
        result.generation_tps
