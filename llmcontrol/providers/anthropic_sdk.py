"""Anthropic's Messages API through the official `anthropic` SDK.

The SDK brings authentication headers, the API version header and its SSE
reader; we keep the decisions: `max_retries=0` so retries happen once, in
`retry` (and a Retry-After is honoured once), and replies are read as plain
dicts through the same Assembler as every other provider. The SDK (2.x) runs on
`httpx2`, so this adapter's pooled client is an `httpx2.Client`.

`base_url` is the host root (`https://api.anthropic.com`); the SDK adds
`/v1/messages`.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import anthropic
import httpx2

from llmcontrol.providers.assemble import Assembler, End, Meta, Piece, Reasoning, Text, as_text
from llmcontrol.providers.base import (
    Adapter,
    ChatRequest,
    Completion,
    ErrorKind,
    HealthReport,
    ProviderConfig,
    StreamEvent,
)
from llmcontrol.providers.errors import clip, kind_for_status, parse_retry_after
from llmcontrol.providers.httpbase import PerLoop, decode, strip_version
from llmcontrol.providers.wire import WireError

API_VERSION = "2023-06-01"
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}
# Mid-stream `error` events arrive under HTTP 200: only their type says what happened.
ERROR_TYPES = {
    "rate_limit_error": ErrorKind.RATE_LIMITED,
    "overloaded_error": ErrorKind.SERVER_ERROR,
    "api_error": ErrorKind.SERVER_ERROR,
    "timeout_error": ErrorKind.TIMEOUT,
    "authentication_error": ErrorKind.AUTH,
    "permission_error": ErrorKind.AUTH,
    "not_found_error": ErrorKind.MODEL_NOT_FOUND,
    "invalid_request_error": ErrorKind.BAD_REQUEST,
    "request_too_large": ErrorKind.BAD_REQUEST,
}
THINKING_BUDGETS: dict[bool | str, int] = {True: 4096, "low": 1024, "medium": 4096,
                                           "high": 16384, "max": 32000}
MIN_THINKING_BUDGET = 1024  # the API's floor


class AnthropicAdapter(Adapter):
    """Anthropic has no JSON mode: JSON here means an instruction appended to the
    system prompt (with the schema when one is given) plus strict validation of
    the answer afterwards (`json_valid`). `seed` and `keep_alive` do not exist
    in this API and are not sent. Thinking is enabled only when `max_tokens`
    leaves room for the API's minimum budget of 1024 tokens."""

    def __init__(self, config: ProviderConfig, **tools: Any) -> None:
        super().__init__(config, **tools)
        self.base_url = strip_version(config.base_url, "/v1")
        pool = {"timeout": httpx2.Timeout(config.timeout_s), "verify": _ssl_context()}
        self._client = anthropic.Anthropic(**self._options(), http_client=httpx2.Client(**pool))
        self._async_clients: PerLoop[anthropic.AsyncAnthropic] = PerLoop(
            lambda: anthropic.AsyncAnthropic(**self._options(),
                                             http_client=httpx2.AsyncClient(**pool)))

    def _options(self) -> dict[str, Any]:
        # The wire format is `x-api-key` plus `anthropic-version: 2023-06-01`; SDK 2.x
        # would send `Authorization: Bearer` and its own newer version, so both are
        # set here and the bearer header is omitted. An explicit api_key (even an
        # empty one) also stops the SDK from reading keys from the environment or
        # profile files: the registry is the only source of credentials.
        headers: dict[str, Any] = {"anthropic-version": API_VERSION,
                                   "Authorization": anthropic.Omit()}
        if self.config.api_key:
            headers["x-api-key"] = self.config.api_key
        return {"api_key": self.config.api_key or "", "base_url": self.base_url,
                "max_retries": 0, "timeout": httpx2.Timeout(self.config.timeout_s),
                "default_headers": headers}

    def _params(self, model: str, request: ChatRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": model, "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        system = request.system or ""
        if request.wants_json:
            system = f"{system}\n\n{json_instruction(request.schema)}".strip()
        if system:
            params["system"] = system  # top-level: Anthropic has no system role
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        budget = THINKING_BUDGETS.get(request.think, 0) if request.think else 0
        budget = min(budget, request.max_tokens - 1)
        if budget >= MIN_THINKING_BUDGET:
            params["thinking"] = {"type": "enabled", "budget_tokens": budget}
        else:
            # The wire format takes `temperature` (and rejects it with thinking on),
            # but SDK 2.x dropped it from create()'s signature: pass it as body.
            params["extra_body"] = {"temperature": request.temperature}
        return params

    def _assembler(self, model: str, request: ChatRequest, started: float, attempt: int,
                   streamed: bool) -> Assembler:
        return Assembler(provider=self.config.key, model=model, request=request,
                         started=started, attempt=attempt, streamed=streamed)

    def _complete_once(self, model: str, request: ChatRequest, started: float,
                       attempt: int) -> Completion:
        assembler = self._assembler(model, request, started, attempt, False)
        with self._mapped(model):
            message = self._client.messages.create(**self._params(model, request))
            for piece in decode(message_pieces, _plain(message)):
                assembler.feed(piece)
        return assembler.completion()

    def _stream_once(self, model: str, request: ChatRequest, started: float,
                     attempt: int) -> Iterator[StreamEvent]:
        assembler = self._assembler(model, request, started, attempt, True)
        decoder = AnthropicDecoder()
        with self._mapped(model), \
                self._client.messages.create(**self._params(model, request), stream=True) as events:
            for event in events:
                for piece in decode(decoder.feed, _plain(event)):
                    yield from assembler.feed(piece)
            yield from _finish(assembler)

    async def _acomplete_once(self, model: str, request: ChatRequest, started: float,
                              attempt: int) -> Completion:
        assembler = self._assembler(model, request, started, attempt, False)
        client = self._async_clients.get()
        with self._mapped(model):
            message = await client.messages.create(**self._params(model, request))
            for piece in decode(message_pieces, _plain(message)):
                assembler.feed(piece)
        return assembler.completion()

    async def _astream_once(self, model: str, request: ChatRequest, started: float,
                            attempt: int) -> AsyncIterator[StreamEvent]:
        assembler = self._assembler(model, request, started, attempt, True)
        decoder = AnthropicDecoder()
        client = self._async_clients.get()
        with self._mapped(model):
            events = await client.messages.create(**self._params(model, request), stream=True)
            async with events:
                async for event in events:
                    for piece in decode(decoder.feed, _plain(event)):
                        for out in assembler.feed(piece):
                            yield out
                for out in _finish(assembler):
                    yield out

    def _health(self) -> HealthReport:
        if not self.config.api_key:
            return HealthReport(ok=False, detail="no API key configured: health unknown")
        with self._mapped(""):
            page = self._client.models.list(limit=100)
            models = [m.id for m in page.data]
        return HealthReport(ok=True, detail=f"{len(models)} model(s) listed", models=models)

    @contextmanager
    def _mapped(self, model: str) -> Iterator[None]:
        try:
            yield
        except WireError as error:
            raise self.error(error.kind, error.message, model, status_code=error.status_code,
                             retry_after=error.retry_after) from error
        except anthropic.APIStatusError as error:
            raise self._status_error(error, model) from error
        except (anthropic.APITimeoutError, httpx2.TimeoutException) as error:
            raise self.error(ErrorKind.TIMEOUT, f"no answer within {self.config.timeout_s:g}s",
                             model) from error
        except anthropic.APIConnectionError as error:
            raise self.error(ErrorKind.UNAVAILABLE, f"cannot reach {self.base_url}: "
                             f"{error.__cause__ or error}", model) from error
        except (anthropic.APIResponseValidationError, json.JSONDecodeError) as error:
            raise self.error(ErrorKind.INVALID_RESPONSE, f"unreadable reply: {error}",
                             model) from error
        except httpx2.HTTPError as error:  # raised while reading an already started stream
            raise self.error(ErrorKind.INVALID_RESPONSE, f"connection lost mid-reply: {error}",
                             model) from error

    def _status_error(self, error: anthropic.APIStatusError, model: str) -> Exception:
        body = error.body if isinstance(error.body, dict) else {}
        details = body.get("error") if isinstance(body.get("error"), dict) else {}
        error_type = str(details.get("type") or "")
        message = clip(str(details.get("message") or error.message))
        status = error.status_code
        if status >= 400:
            return self.error(kind_for_status(status), f"{error_type}: {message}".lstrip(": "),
                              model, status_code=status,
                              retry_after=parse_retry_after(error.response.headers))
        # An `error` event inside a 200 stream.
        return self.error(ERROR_TYPES.get(error_type, ErrorKind.SERVER_ERROR),
                          f"{error_type}: {message}".lstrip(": "), model)

    def close(self) -> None:
        self._client.close()
        self._async_clients.clear()

    async def aclose(self) -> None:
        client = self._async_clients.pop_current()
        if client is not None:
            await client.close()
        self.close()


def json_instruction(schema: dict[str, Any] | None) -> str:
    text = ("Reply with a single JSON value and nothing else: no prose before or after it, "
            "no Markdown code fences.")
    if schema is not None:
        text += f" The JSON must validate against this JSON Schema: {json.dumps(schema)}"
    return text


def message_pieces(data: dict[str, Any]) -> list[Piece]:
    """A whole Message: content blocks, stop reason, usage."""
    pieces: list[Piece] = []
    for block in data["content"]:
        if block["type"] == "text":
            pieces.append(Text(as_text(block["text"])))
        elif block["type"] == "thinking":
            pieces.append(Reasoning(as_text(block["thinking"])))
        # redacted_thinking and tool_use blocks carry no text for the caller
    usage = data["usage"]
    reason = data.get("stop_reason")
    return [*pieces, Meta(finish_reason=STOP_REASONS.get(reason, reason),
                          input_tokens=usage["input_tokens"],
                          output_tokens=usage["output_tokens"]), End()]


class AnthropicDecoder:
    """Stream events, already parsed by the SDK (which also swallows `ping`)."""

    def feed(self, event: dict[str, Any]) -> list[Piece]:
        kind = event["type"]
        if kind == "message_start":
            usage = event["message"].get("usage") or {}
            return [Meta(input_tokens=usage.get("input_tokens"),
                         output_tokens=usage.get("output_tokens"))]
        if kind == "content_block_start":
            block = event["content_block"]
            if block["type"] == "text" and block.get("text"):
                return [Text(as_text(block["text"]))]
            if block["type"] == "thinking" and block.get("thinking"):
                return [Reasoning(as_text(block["thinking"]))]
            return []
        if kind == "content_block_delta":
            delta = event["delta"]
            if delta["type"] == "text_delta":
                return [Text(as_text(delta["text"]))]
            if delta["type"] == "thinking_delta":
                return [Reasoning(as_text(delta["thinking"]))]
            return []  # signature_delta, input_json_delta
        if kind == "message_delta":
            reason = (event.get("delta") or {}).get("stop_reason")
            usage = event.get("usage") or {}
            return [Meta(finish_reason=STOP_REASONS.get(reason, reason),
                         input_tokens=usage.get("input_tokens"),
                         output_tokens=usage.get("output_tokens"))]
        if kind == "message_stop":
            return [End()]
        return []  # content_block_stop, ping, future event types


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    return httpx2.create_ssl_context()  # shared, as in httpbase: loading CAs is slow


def _plain(value: Any) -> dict[str, Any]:
    """The SDK's model as the wire's dict; the SDK passes through JSON it could not model."""
    if hasattr(value, "to_dict"):
        return value.to_dict()  # type: ignore[no-any-return]
    if isinstance(value, dict):
        return value
    raise WireError(ErrorKind.INVALID_RESPONSE, f"expected a JSON object, got {value!r:.80}")


def _finish(assembler: Assembler) -> list[StreamEvent]:
    if not assembler.ended:
        raise WireError(ErrorKind.INVALID_RESPONSE,
                        "stream ended before message_stop (truncated)")
    return assembler.finish()
