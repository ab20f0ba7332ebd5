"""Turning an OpenAI request into a client call: what is read, what is refused."""

from __future__ import annotations

import pytest

from llmcontrol.gateway.errors import GatewayError
from llmcontrol.gateway.requests import parse_chat_request


def parse(body: str, **headers: str):  # type: ignore[no-untyped-def]
    return parse_chat_request(body.encode(), headers)


def test_a_full_request() -> None:
    call = parse('{"model": "auto", "stream": true, "stream_options": {"include_usage": true},'
                 ' "messages": [{"role": "developer", "content": "Be brief."},'
                 ' {"role": "user", "content": [{"type": "text", "text": "Hello "},'
                 ' {"type": "text", "text": "there"}]}],'
                 ' "max_completion_tokens": 50, "max_tokens": 10, "temperature": 0,'
                 ' "stop": "\\n", "seed": 7, "user": "u1", "top_p": 0.9,'
                 ' "response_format": {"type": "json_object"},'
                 ' "metadata": {"purpose": "triage"}}',
                 **{"X-LLM-Purpose": "ignored", "X-LLM-Phase": "EXEC"})
    assert call.messages == [{"role": "system", "content": "Be brief."},
                             {"role": "user", "content": "Hello there"}]
    assert (call.stream, call.include_usage, call.routing_key) == (True, True, "u1")
    assert call.options == {"max_tokens": 50, "temperature": 0, "stop": ("\n",), "seed": 7,
                            "json": True}
    assert (call.purpose, call.sub_agent, call.phase, call.allow_local) == (
        "triage", None, "EXEC", True)


@pytest.mark.parametrize("body, param", [
    ('{"model": "a", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}',
     "messages[0].content"),
    ('{"model": "a", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}', "stream"),
    ('{"model": "a", "messages": [{"role": "user", "content": "x"}], "max_tokens": true}',
     "max_tokens"),
    ('{"model": "a", "messages": [{"role": "user", "content": "x"}],"stop": ["a","b","c","d","e"]}',
     "stop"),
    ('{"model": "a", "messages": [{"role": "user", "content": "x"}], "metadata": {"a": 1}}',
     "metadata"),
    ('{"model": "a", "messages": [{"role": "user", "content": "x"}],'
     ' "metadata": {"allow_local": "perhaps"}}', "metadata.allow_local"),
    ('{"model": "a", "messages": [{"role": "user", "content": "x"}],'
     ' "response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}',
     "response_format.json_schema.schema"),
])
def test_refusals_name_the_parameter(body: str, param: str) -> None:
    with pytest.raises(GatewayError) as excinfo:
        parse(body)
    assert (excinfo.value.status, excinfo.value.param) == (400, param)


def test_parameters_that_ask_for_nothing_are_accepted() -> None:
    call = parse('{"model": "a", "messages": [{"role": "user", "content": "x"}], "n": 1,'
                 ' "tools": [], "tool_choice": "none", "logprobs": false}')
    assert call.options == {}


def test_allow_local_from_a_header() -> None:
    call = parse('{"model": "a", "messages": [{"role": "user", "content": "x"}]}',
                 **{"X-LLM-Allow-Local": "false"})
    assert call.allow_local is False
