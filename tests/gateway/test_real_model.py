"""The gateway in front of the real local model (SmolLM2-135M via llama.cpp's server),
driven by the official OpenAI SDK."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import OpenAI

from tests.gateway.conftest import metrics_since

pytestmark = pytest.mark.slow

MODEL = "smollm2-135m-instruct"


@pytest.fixture
def real_local_model(gateway_registry: dict[str, Any], smollm2_server: str) -> dict[str, Any]:
    from registry.actions import bump_version
    from registry.models import Provider

    Provider.objects.filter(key="llamacpp-local").update(base_url=smollm2_server)
    bump_version()
    return gateway_registry


def test_completion_stream_and_json_from_the_real_model(openai_client: OpenAI,
                                                        real_local_model: dict[str, Any]) -> None:
    question = [{"role": "user", "content": "What is the capital of France? One word."}]
    raw = openai_client.chat.completions.with_raw_response.create(
        model=MODEL, messages=question, max_tokens=12, temperature=0)
    completion = raw.parse()
    assert completion.choices[0].message.content.strip()
    assert completion.usage.completion_tokens > 0
    assert (raw.headers["x-llmcontrol-provider"], raw.headers["x-llmcontrol-routed-to"]) == (
        "llamacpp-local", "local")

    chunks = list(openai_client.chat.completions.create(
        model=MODEL, messages=question, max_tokens=12, temperature=0, stream=True,
        stream_options={"include_usage": True}))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed.strip()
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0

    as_json = openai_client.chat.completions.create(
        model=MODEL, max_tokens=40, temperature=0, response_format={"type": "json_object"},
        messages=[{"role": "user", "content": 'Reply with a JSON object like {"city": "..."}'
                                              " naming the capital of France."}])
    assert isinstance(json.loads(as_json.choices[0].message.content), dict)

    rows = metrics_since(real_local_model["started"], 3)
    assert [(r.provider, r.routed_to, r.success, r.streamed) for r in rows] == [
        ("llamacpp-local", "local", True, False), ("llamacpp-local", "local", True, True),
        ("llamacpp-local", "local", True, False)]
    assert rows[2].json_requested and rows[2].json_valid
