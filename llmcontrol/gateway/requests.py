"""An OpenAI chat-completions request, checked and turned into a client call.

Supported: model, messages (text content; system/developer/user/assistant),
stream, stream_options.include_usage, response_format (text, json_object,
json_schema), max_tokens / max_completion_tokens, temperature, stop, seed, user
(the routing key), metadata (purpose, sub_agent, phase, allow_local). Sampling
knobs that change nothing about routing are accepted and ignored; features the
client cannot carry (tools, n > 1, logprobs, audio) are refused by name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmcontrol.gateway.errors import bad_request
from llmcontrol.switches import ConfigError, parse_bool

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
IGNORED = frozenset({
    "top_p", "frequency_penalty", "presence_penalty", "logit_bias", "parallel_tool_calls",
    "store", "service_tier", "reasoning_effort", "verbosity", "safety_identifier",
    "prompt_cache_key", "prompt_cache_retention",
})
# Accepted only with a value that asks for nothing (False, None, 1, "none").
REFUSED = frozenset({"tools", "tool_choice", "functions", "function_call", "logprobs",
                     "top_logprobs", "n", "audio", "modalities", "prediction",
                     "web_search_options"})
KNOWN = frozenset({"model", "messages", "stream", "stream_options", "response_format",
                   "max_tokens", "max_completion_tokens", "temperature", "stop", "seed",
                   "user", "metadata"})
HEADER_LABELS = {"purpose": "X-LLM-Purpose", "sub_agent": "X-LLM-Sub-Agent",
                 "phase": "X-LLM-Phase", "allow_local": "X-LLM-Allow-Local"}
MAX_MODEL_NAME = 256
# Above any model's output limit (the largest context windows are ~2M tokens): a bigger
# value is a mistake, not a request, and an upstream would refuse it after routing.
MAX_COMPLETION_TOKENS = 2_000_000
SEED_RANGE = range(-(2**63), 2**63)  # what the providers' 64-bit seeds hold
# Labels are stored with each metric row and shown in the admin: printable text only
# (PostgreSQL text cannot hold NUL; CR/LF would forge lines in logs and CSV exports).
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass
class ChatCall:
    model: str
    messages: list[dict[str, str]]
    stream: bool = False
    include_usage: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # LLMClient.achat options
    routing_key: str | None = None
    purpose: str | None = None
    sub_agent: str | None = None
    phase: str | None = None
    allow_local: bool = True


def parse_chat_request(body: bytes, headers: Mapping[str, str]) -> ChatCall:
    """The call a request asks for; raises GatewayError (400) naming the bad parameter."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("We could not parse the JSON body of your request. The body must be "
                          "a JSON object in UTF-8.", code="invalid_json") from None
    except RecursionError:  # the decoder recurses once per level of [ or {
        raise bad_request("The JSON body of your request is nested too deeply.",
                          code="invalid_json") from None
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.", code="invalid_json")
    _check_parameters(data)
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise bad_request("you must provide a model parameter", "model",
                          "missing_required_parameter")
    if len(model) > MAX_MODEL_NAME or UNPRINTABLE.search(model):
        raise bad_request(f"model must be a name of at most {MAX_MODEL_NAME} printable "
                          f"characters", "model")
    call = ChatCall(model=model.strip(), messages=_messages(data.get("messages")))
    call.stream = _bool(data, "stream")
    stream_options = data.get("stream_options")
    if stream_options is not None:
        if not isinstance(stream_options, dict):
            raise bad_request("stream_options must be an object", "stream_options")
        call.include_usage = _bool(stream_options, "include_usage", "stream_options.include_usage")
    call.options = _options(data)
    user = data.get("user")
    if user is not None and (not isinstance(user, str) or len(user) > 256):
        raise bad_request("user must be a string of at most 256 characters", "user")
    if user and UNPRINTABLE.search(user):
        raise bad_request("user must not contain control characters", "user")
    if user:
        _unicode(user, "user")
    call.routing_key = user or None
    labels = _labels(data.get("metadata"), headers)
    call.purpose, call.sub_agent, call.phase = (labels.get(k) for k in ("purpose", "sub_agent",
                                                                        "phase"))
    if "allow_local" in labels:
        try:
            call.allow_local = parse_bool("allow_local", labels["allow_local"])
        except ConfigError as exc:
            raise bad_request(str(exc), "metadata.allow_local") from None
    return call


def _check_parameters(data: dict[str, Any]) -> None:
    for name, value in data.items():
        if name in KNOWN or name in IGNORED:
            continue
        if name in REFUSED:
            if _asks_for_nothing(name, value):
                continue
            raise bad_request(f"{name} is not supported by the llmcontrol gateway", name,
                              "unsupported_parameter")
        raise bad_request(f"Unrecognized request argument supplied: {name}", name,
                          "unknown_parameter")


def _asks_for_nothing(name: str, value: Any) -> bool:
    if value is None or value is False or value == "none" or value in ([], {}):
        return True
    return name == "n" and type(value) is int and value == 1


def _messages(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise bad_request("messages must be a non-empty array", "messages",
                          "missing_required_parameter")
    messages = []
    for i, message in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise bad_request(f"{where} must be an object", where)
        role = message.get("role")
        if role not in ROLES:
            raise bad_request(f"{where}.role {role!r} is not supported; use system, developer, "
                              f"user or assistant", f"{where}.role")
        if message.get("tool_calls") or message.get("function_call"):
            raise bad_request("tool calls are not supported by the llmcontrol gateway",
                              f"{where}.tool_calls", "unsupported_parameter")
        text = _text(message.get("content"), where)
        _unicode(text, f"{where}.content")
        messages.append({"role": ROLES[role], "content": text})
    return messages


def _text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(
                    part.get("text"), str):
                raise bad_request(f"{where}.content[{j}]: only text parts are supported",
                                  f"{where}.content")
            parts.append(part["text"])
        return "".join(parts)
    raise bad_request(f"{where}.content must be a string or an array of text parts",
                      f"{where}.content")


def _options(data: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for name in ("max_completion_tokens", "max_tokens"):  # the newer name wins
        value = data.get(name)
        if value is not None:
            if (not isinstance(value, int) or isinstance(value, bool)
                    or not 1 <= value <= MAX_COMPLETION_TOKENS):
                raise bad_request(f"{name} must be an integer from 1 to {MAX_COMPLETION_TOKENS}",
                                  name)
            options.setdefault("max_tokens", value)
    temperature = data.get("temperature")
    if temperature is not None:
        if (not isinstance(temperature, int | float) or isinstance(temperature, bool)
                or not 0 <= temperature <= 2):
            raise bad_request("temperature must be a number between 0 and 2", "temperature")
        options["temperature"] = temperature
    stop = data.get("stop")
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else stop
        if not isinstance(stops, list) or len(stops) > 4 or not all(
                isinstance(s, str) and s for s in stops):
            raise bad_request("stop must be a string or an array of up to 4 strings", "stop")
        for s in stops:
            _unicode(s, "stop")
        options["stop"] = tuple(stops)
    seed = data.get("seed")
    if seed is not None:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed not in SEED_RANGE:
            raise bad_request("seed must be a 64-bit integer", "seed")
        options["seed"] = seed
    options.update(_response_format(data.get("response_format")))
    return options


def _response_format(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"json": True}
    if kind == "json_schema":
        spec = raw.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise bad_request("response_format.json_schema.schema must be a JSON Schema object",
                              "response_format.json_schema.schema")
        return {"schema": schema}
    raise bad_request("response_format.type must be text, json_object or json_schema",
                      "response_format.type")


def _labels(metadata: Any, headers: Mapping[str, str]) -> dict[str, str]:
    """purpose, sub_agent, phase, allow_local: from `metadata`, else from X-LLM-* headers."""
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(v, str) for v in metadata.values())):
        raise bad_request("metadata must be an object of string values", "metadata")
    labels = {}
    for name, header in HEADER_LABELS.items():
        value, param = (metadata or {}).get(name), f"metadata.{name}"
        if not value and headers.get(header):
            value, param = headers[header], header
            # Servers hand header bytes over as Latin-1: anything else arrives garbled.
            if not value.isascii():
                raise bad_request(f"The {header} header must be ASCII; send other labels in "
                                  f"metadata.{name}", header)
        if value:
            if len(value) > 64:
                raise bad_request(f"{name} must be at most 64 characters", param)
            if UNPRINTABLE.search(value):
                raise bad_request(f"{name} must not contain control characters", param)
            _unicode(value, param)
            labels[name] = value.strip()
    return labels


def _unicode(text: str, param: str) -> None:
    """JSON's \\u escapes can spell lone surrogates, which no provider (or UTF-8) accepts."""
    try:
        text.encode()
    except UnicodeEncodeError:
        raise bad_request(f"{param} is not valid Unicode (it holds a lone surrogate escape)",
                          param) from None


def _bool(data: dict[str, Any], name: str, param: str | None = None) -> bool:
    value = data.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_request(f"{param or name} must be a boolean", param or name)
    return value
