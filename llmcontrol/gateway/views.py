"""`POST /v1/chat/completions` and `GET /v1/models`: async views over the llmcontrol client.

The request runs through `LLMClient.achat` / `astream_chat`: the same routing,
fallback and metric recording as an in-process call. Nothing here touches the
ORM on the event loop: the snapshot, API keys and throttle counts are in memory
(refreshed off the loop when due).
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from llmcontrol.api.keys import KeysUnavailable, Principal, bearer_token, key_cache
from llmcontrol.api.throttles import gateway_allows
from llmcontrol.client import LLMCallError, LLMClient, LLMResult, RoutingError
from llmcontrol.client.backends import get_backend
from llmcontrol.client.calls import Step
from llmcontrol.gateway.errors import GatewayError, upstream_error
from llmcontrol.gateway.requests import ChatCall, parse_chat_request
from llmcontrol.gateway.responses import DONE, ChunkWriter, completion
from llmcontrol.routing import RoutingSnapshot
from llmcontrol.routing.snapshot import TIERS
from llmcontrol.switches import ConfigError

AUTO = "auto"


@csrf_exempt
async def chat_completions(request: HttpRequest) -> HttpResponse:
    started = time.perf_counter()
    try:
        if request.method != "POST":
            raise GatewayError(405, "Use POST for /v1/chat/completions.",
                               code="method_not_allowed", headers={"Allow": "POST"})
        await authenticate(request)
        call = parse_chat_request(read_body(request), request.headers)
        backend = get_backend()
        client = client_for(call, await backend.asnapshot(), backend)
        if call.stream:
            return await stream(client, call, started)
        try:
            result = await client.achat(call.messages, **call.options)
        except Exception as exc:
            raise translate(exc, call) from exc
        overhead_ms = (time.perf_counter() - started) * 1000 - result.duration_ms
        return HttpResponse(completion(result, int(time.time())),
                            content_type="application/json",
                            headers=routing_headers(result.provider, result.model,
                                                    result.routed_to, result.fallback,
                                                    result.tier, overhead_ms))
    except GatewayError as error:
        return error.response()


@csrf_exempt
async def models(request: HttpRequest, model_id: str | None = None) -> HttpResponse:
    """Tier aliases, `auto`, and each active registry model (by its key), OpenAI's model list."""
    try:
        if request.method != "GET":
            raise GatewayError(405, "Use GET for /v1/models.", code="method_not_allowed",
                               headers={"Allow": "GET"})
        await authenticate(request)
        snapshot = await get_backend().asnapshot()
        entries = model_list(snapshot)
        if model_id is None:
            return JsonResponse({"object": "list", "data": entries})
        entry = next((e for e in entries if e["id"] == model_id), None)
        if entry is None:
            raise model_not_found(model_id)
        return JsonResponse(entry)
    except GatewayError as error:
        return error.response()


@csrf_exempt
async def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    return GatewayError(404, f"Unknown endpoint /v1/{rest}; this gateway serves "
                             f"/v1/chat/completions and /v1/models.",
                        code="unknown_url").response()


# Steps of a request


async def authenticate(request: HttpRequest) -> Principal:
    header = request.headers.get("Authorization", "")
    token = bearer_token(header) if header else None
    if token is None:
        raise GatewayError(401, "You didn't provide an API key. Send `Authorization: Bearer "
                                "<key>` (the OpenAI SDKs do: set api_key).",
                           code="missing_api_key", headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = await key_cache.aauthenticate(token)
    except KeysUnavailable as exc:
        raise GatewayError(503, str(exc), type="server_error", code="keys_unavailable") from None
    if principal is None:
        raise GatewayError(401, "Incorrect or revoked API key provided.",
                           code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
    wait = gateway_allows(principal)
    if wait is not None:
        raise GatewayError(429, f"Rate limit reached for API key {principal.prefix}; retry "
                                f"after {wait:.0f} s.", type="rate_limit_error",
                           code="rate_limit_exceeded",
                           headers={"Retry-After": str(max(1, round(wait)))})
    return principal


def body_too_large() -> GatewayError:
    # Not `Connection: close`: closing on a client still sending resets the connection,
    # and the client would see the reset rather than this answer. uvicorn reads the rest
    # of the body and drops it.
    return GatewayError(413, f"The request body is larger than this gateway accepts "
                             f"({settings.GATEWAY_MAX_BODY_BYTES} bytes).",
                        code="request_too_large")


def declared_too_large(scope: dict[str, Any]) -> bool:
    """The request's Content-Length is over GATEWAY_MAX_BODY_BYTES (read from the ASGI scope,
    before any of the body)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.isdigit() and int(value) > settings.GATEWAY_MAX_BODY_BYTES
    return False


def read_body(request: HttpRequest) -> bytes:
    limit = settings.GATEWAY_MAX_BODY_BYTES
    too_big = body_too_large()
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_big from None
    if len(body) > limit:
        raise too_big
    return body


def client_for(call: ChatCall, snapshot: RoutingSnapshot, backend: Any) -> LLMClient:
    """`model` is `auto` (the routing rules decide), a tier, or a registry model."""
    tier = model = None
    wanted = call.model
    if wanted.casefold() in TIERS:
        tier = wanted.casefold()
    elif wanted.casefold() != AUTO:
        if wanted not in snapshot.by_ref and wanted.casefold() not in snapshot.by_key:
            raise model_not_found(wanted)
        model = wanted
    return LLMClient(backend, purpose=call.purpose, sub_agent=call.sub_agent, phase=call.phase,
                     tier=tier, model=model, allow_local=call.allow_local,
                     routing_key=call.routing_key)


async def stream(client: LLMClient, call: ChatCall, started: float) -> HttpResponse:
    attempts: list[tuple[Step, float]] = []
    events = client.astream_chat(call.messages, on_attempt=lambda step: attempts.append(
        (step, time.perf_counter())), **call.options)
    # The first item decides the status: until a delta arrives, a failure is still
    # an HTTP error (and the client falls back); after it, it can only be an SSE event.
    try:
        first = await anext(events)
    except Exception as exc:
        await events.aclose()
        raise translate(exc, call) from exc
    step, began = attempts[-1]
    overhead_ms = (attempts[0][1] - started) * 1000
    # An id for the chunks only (not a secret): no urandom system call on the hot path.
    writer = ChunkWriter(f"chatcmpl-{random.getrandbits(128):032x}", step.model.model_key,
                         int(time.time()), call.include_usage)
    headers = routing_headers(step.provider.key, step.model.model_key, step.routed_to,
                              step.index > 0, client_tier(first, step), overhead_ms)
    headers["Cache-Control"] = "no-cache"
    headers["X-Accel-Buffering"] = "no"  # proxies must not hold the stream back
    return StreamingHttpResponse(sse(first, events, writer), content_type="text/event-stream",
                                 headers=headers)


async def sse(first: str | LLMResult, events: AsyncIterator[str | LLMResult],
              writer: ChunkWriter) -> AsyncIterator[bytes]:
    try:
        yield writer.role()
        item = first
        while isinstance(item, str):
            yield writer.delta(item)
            item = await anext(events)
        yield writer.finish(item)
        if writer.include_usage:
            yield writer.usage(item)
        yield DONE
    except LLMCallError as exc:
        # Text was already sent: no fallback, no status to change. OpenAI's SDKs raise
        # on an `error` event.
        yield writer.error(upstream_error(exc).body())
    finally:
        await events.aclose()  # a client that hung up closes the upstream stream too


def translate(exc: Exception, call: ChatCall) -> Exception:
    """A client failure as the gateway error it means for the caller."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, LLMCallError):
        return upstream_error(exc)
    if isinstance(exc, RoutingError):
        if call.model.casefold() not in TIERS and call.model.casefold() != AUTO:
            return model_not_found(call.model, str(exc))
        return GatewayError(503, f"No route: {exc}", type="server_error", code="no_route")
    if isinstance(exc, ConfigError):
        return GatewayError(500, f"llmcontrol is misconfigured: {exc}", type="server_error",
                            code="misconfigured")
    if isinstance(exc, ValueError | TypeError):  # LLMClient's own request checks
        return GatewayError(400, str(exc), code="invalid_value")
    return exc


def model_not_found(model: str, detail: str | None = None) -> GatewayError:
    message = (f"The model `{model}` does not exist or is not available. Use `auto`, a tier "
               f"({', '.join(TIERS)}) or a model listed by GET /v1/models.")
    if detail:
        message += f" ({detail})"
    return GatewayError(404, message, param="model", code="model_not_found")


def routing_headers(provider: str, model: str, routed_to: str, fallback: bool, tier: str,
                    overhead_ms: float) -> dict[str, str]:
    return {
        "X-LLMControl-Provider": provider,
        "X-LLMControl-Model": model,
        "X-LLMControl-Routed-To": routed_to,
        "X-LLMControl-Fallback": "true" if fallback else "false",
        "X-LLMControl-Tier": tier,
        "X-LLMControl-Overhead-Ms": f"{max(overhead_ms, 0.0):.2f}",
    }


def client_tier(first: str | LLMResult, step: Step) -> str:
    return first.tier if isinstance(first, LLMResult) else step.model.tier


def model_list(snapshot: RoutingSnapshot) -> list[dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {
        alias: {"id": alias, "object": "model", "created": 0, "owned_by": "llmcontrol"}
        for alias in (AUTO, *TIERS)
    }
    for tier in TIERS:
        for m in (*snapshot.local_by_tier.get(tier, ()), *snapshot.cloud_by_tier.get(tier, ())):
            entries.setdefault(m.model_key, {"id": m.model_key, "object": "model", "created": 0,
                                             "owned_by": m.provider_key})
    return list(entries.values())
