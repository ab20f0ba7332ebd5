"""End to end against the real bundled model: SmolLM2-135M served by llama.cpp."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmcontrol.providers import Adapter, ProviderConfig, build_adapter
from llmcontrol.providers.local_model import MODEL_ALIAS
from tests.providers.helpers import ask, done, drain, texts

pytestmark = pytest.mark.slow


@pytest.fixture
def bundled(smollm2_server: str) -> Iterator[Adapter]:
    config = ProviderConfig(key="llamacpp-local", kind="openai_compatible",
                            base_url=smollm2_server, api_key=None, timeout_s=60.0,
                            max_retries=0, is_local=True)
    adapter = build_adapter(config)
    yield adapter
    adapter.close()


def test_bundled_model_answers_and_streams(bundled: Adapter) -> None:
    request = ask("What is the capital of France? Answer in one sentence.", max_tokens=40)

    completion = bundled.complete(MODEL_ALIAS, request)
    events, error = drain(bundled.stream(MODEL_ALIAS, request))

    assert completion.content.strip() != ""
    assert completion.usage.input_tokens > 0 and completion.usage.output_tokens > 0
    assert completion.finish_reason in ("stop", "length")
    assert completion.ttft_ms is None  # not streamed

    assert error is None
    streamed = done(events)
    assert "".join(texts(events)) == streamed.content
    assert streamed.content.strip() != ""
    assert streamed.usage.output_tokens > 0
    assert streamed.finish_reason in ("stop", "length")
    assert streamed.ttft_ms is not None and 0 < streamed.ttft_ms <= streamed.duration_ms
    assert streamed.tps_source == "measured" and streamed.generation_tps > 0


def test_bundled_model_health(bundled: Adapter) -> None:
    report = bundled.health()

    assert report.ok is True
    assert report.models == report.loaded == [MODEL_ALIAS]


def test_bundled_model_follows_a_json_schema(bundled: Adapter) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20}},
              "required": ["city"]}

    completion = bundled.complete(MODEL_ALIAS, ask("Name the capital of France as JSON.",
                                                   schema=schema, max_tokens=60))

    # llama.cpp compiles the schema into a grammar: even a 135M model answers valid JSON.
    assert completion.json_requested is True
    assert completion.json_valid is True, completion.content
