"""LLMClient: route, call, fall back, record. One entry point for every LLM call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any

from llmcontrol.client.backends import Backend
from llmcontrol.client.calls import Call, Step
from llmcontrol.client.pool import adapter_for
from llmcontrol.client.results import LLMResult
from llmcontrol.providers import ChatRequest, Done, Message, ProviderError, TextDelta
from llmcontrol.routing import Decision, RouteRequest, RoutingSnapshot, decide
from llmcontrol.switches import read_switches

MessageLike = Message | Mapping[str, str]
OnAttempt = Callable[[Step], None]


class LLMClient:
    """A client bound to one kind of call (purpose, sub-agent, phase, or a forced model).

    Every call routes afresh: the environment switches are read and the
    current snapshot consulted each time, so a rollout's new stage or a changed
    USE_LOCAL_LLM applies to the next call without building a new client.
    """

    def __init__(self, backend: Backend, *, purpose: str | None = None,
                 sub_agent: str | None = None, phase: str | None = None,
                 provider: str | None = None, model: str | None = None,
                 allow_local: bool = True, routing_key: str | None = None,
                 tier: str | None = None) -> None:
        self.backend = backend
        self.purpose, self.sub_agent, self.phase = purpose, sub_agent, phase
        self.tier = tier
        self.provider, self.model = provider, model
        self.allow_local = allow_local
        self.routing_key = routing_key

    def decide(self) -> Decision:
        """The routing decision this client's next call would get (no call is made)."""
        switches = read_switches()
        return decide(self._route_request(switches.use_local_llm, switches.ollama_model),
                      self.backend.snapshot())

    # Synchronous API

    def complete(self, system_prompt: str | None, user_prompt: str, **options: Any) -> LLMResult:
        """Answer one prompt. Options: max_tokens, temperature, json, schema, think."""
        return self.chat([Message("user", user_prompt)], system=system_prompt, **options)

    def chat(self, messages: Iterable[MessageLike], *, system: str | None = None,
             **options: Any) -> LLMResult:
        """Answer a conversation; falls back to the cloud when a local attempt fails."""
        call = self._start(messages, system, options, streamed=False)
        for step in call.steps:
            began = time.perf_counter()
            try:
                adapter = adapter_for(step.provider, call.switches, step.model.model_key)
                completion = adapter.complete(step.model.model_key, call.request)
            except ProviderError as error:
                call.failed(step, error, (time.perf_counter() - began) * 1000)
                if call.may_continue(step, error):
                    continue
                raise call.error() from error
            return call.succeeded(step, completion)
        raise call.error()

    def stream(self, system_prompt: str | None, user_prompt: str,
               **options: Any) -> Iterator[str | LLMResult]:
        """Yield text deltas, then the final LLMResult.

        Falls back only while nothing has been sent to the caller; after the
        first delta an error surfaces as LLMCallError(partial=True).
        """
        return self.stream_chat([Message("user", user_prompt)], system=system_prompt, **options)

    def stream_chat(self, messages: Iterable[MessageLike], *, system: str | None = None,
                    on_attempt: OnAttempt | None = None,
                    **options: Any) -> Iterator[str | LLMResult]:
        """stream() for a conversation. `on_attempt(step)` is called as each attempt
        starts: a proxy learns which provider the deltas come from before the first one."""
        call = self._start(messages, system, options, streamed=True)
        for step in call.steps:
            began = time.perf_counter()
            sent = False
            if on_attempt:
                on_attempt(step)
            result = None
            try:
                adapter = adapter_for(step.provider, call.switches, step.model.model_key)
                for event in adapter.stream(step.model.model_key, call.request):
                    if isinstance(event, TextDelta) and event.text:
                        sent = True
                        yield event.text
                    elif isinstance(event, Done):
                        result = call.succeeded(step, event.completion)
                        break
            except ProviderError as error:
                call.failed(step, error, (time.perf_counter() - began) * 1000)
                if not sent and call.may_continue(step, error):
                    continue
                raise call.error(partial=sent) from error
            except GeneratorExit:  # the caller closed the stream mid-attempt
                call.cancelled(step, (time.perf_counter() - began) * 1000)
                raise
            if result is not None:
                # Outside the try: a caller closing the stream after this is not a cancellation.
                yield result
                return
        raise call.error()

    # Asynchronous twins, for ASGI callers

    async def acomplete(self, system_prompt: str | None, user_prompt: str,
                        **options: Any) -> LLMResult:
        return await self.achat([Message("user", user_prompt)], system=system_prompt, **options)

    async def achat(self, messages: Iterable[MessageLike], *, system: str | None = None,
                    **options: Any) -> LLMResult:
        call = self._start(messages, system, options, streamed=False,
                           snapshot=await self.backend.asnapshot())
        for step in call.steps:
            began = time.perf_counter()
            try:
                adapter = adapter_for(step.provider, call.switches, step.model.model_key)
                completion = await adapter.acomplete(step.model.model_key, call.request)
            except ProviderError as error:
                call.failed(step, error, (time.perf_counter() - began) * 1000)
                if call.may_continue(step, error):
                    continue
                raise call.error() from error
            except asyncio.CancelledError:  # the caller hung up: the view was cancelled
                call.cancelled(step, (time.perf_counter() - began) * 1000)
                raise
            return call.succeeded(step, completion)
        raise call.error()

    def astream(self, system_prompt: str | None, user_prompt: str,
                **options: Any) -> AsyncIterator[str | LLMResult]:
        return self.astream_chat([Message("user", user_prompt)], system=system_prompt, **options)

    async def astream_chat(self, messages: Iterable[MessageLike], *, system: str | None = None,
                           on_attempt: OnAttempt | None = None,
                           **options: Any) -> AsyncIterator[str | LLMResult]:
        """The async twin of stream_chat()."""
        call = self._start(messages, system, options, streamed=True,
                           snapshot=await self.backend.asnapshot())
        for step in call.steps:
            began = time.perf_counter()
            sent = False
            if on_attempt:
                on_attempt(step)
            result = None
            try:
                adapter = adapter_for(step.provider, call.switches, step.model.model_key)
                async for event in adapter.astream(step.model.model_key, call.request):
                    if isinstance(event, TextDelta) and event.text:
                        sent = True
                        yield event.text
                    elif isinstance(event, Done):
                        result = call.succeeded(step, event.completion)
                        break
            except ProviderError as error:
                call.failed(step, error, (time.perf_counter() - began) * 1000)
                if not sent and call.may_continue(step, error):
                    continue
                raise call.error(partial=sent) from error
            except (GeneratorExit, asyncio.CancelledError):
                # The caller hung up (aclose) or its task was cancelled mid-attempt.
                call.cancelled(step, (time.perf_counter() - began) * 1000)
                raise
            if result is not None:
                yield result
                return
        raise call.error()

    # Shared

    def _route_request(self, local_enabled: bool, preferred_local: str | None) -> RouteRequest:
        return RouteRequest(
            purpose=self.purpose, sub_agent=self.sub_agent, phase=self.phase, tier=self.tier,
            provider=self.provider, model=self.model, allow_local=self.allow_local,
            routing_key=self.routing_key, local_enabled=local_enabled,
            preferred_local=preferred_local,
        )

    def _start(self, messages: Iterable[MessageLike], system: str | None,
               options: Mapping[str, Any], *, streamed: bool,
               snapshot: RoutingSnapshot | None = None) -> Call:
        switches = read_switches()
        snapshot = snapshot or self.backend.snapshot()
        decision = decide(self._route_request(switches.use_local_llm, switches.ollama_model),
                          snapshot)
        request = build_request(messages, system, options)
        labels = {"purpose": self.purpose or "", "sub_agent": self.sub_agent or "",
                  "phase": self.phase or ""}
        return Call(decision, snapshot, switches, request, labels, self.backend.record,
                    streamed=streamed)


ALLOWED_OPTIONS = frozenset({"max_tokens", "temperature", "json", "schema", "think", "keep_alive",
                             "stop", "seed"})


def build_request(messages: Iterable[MessageLike], system: str | None,
                  options: Mapping[str, Any]) -> ChatRequest:
    unknown = set(options) - ALLOWED_OPTIONS
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}; "
                        f"allowed: {', '.join(sorted(ALLOWED_OPTIONS))}")
    converted = []
    for i, m in enumerate(messages):
        if isinstance(m, Message):
            converted.append(m)
            continue
        role, content = m.get("role"), m.get("content")
        if role not in ("user", "assistant", "system") or not isinstance(content, str):
            raise ValueError(f"messages[{i}] needs role user/assistant/system and text content")
        if role == "system":
            system = content if system is None else f"{system}\n\n{content}"
            continue
        converted.append(Message(role, content))
    if not converted:
        raise ValueError("at least one user message is required")
    max_tokens = options.get("max_tokens", 1024)
    if not isinstance(max_tokens, int) or max_tokens <= 0:
        raise ValueError(f"max_tokens must be a positive integer, got {max_tokens!r}")
    temperature = options.get("temperature", 0.0)
    if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
        raise ValueError(f"temperature must be between 0 and 2, got {temperature!r}")
    return ChatRequest(
        messages=tuple(converted), system=system, max_tokens=max_tokens,
        temperature=float(temperature), json_mode=bool(options.get("json", False)),
        schema=options.get("schema"), think=options.get("think"),
        keep_alive=options.get("keep_alive"), stop=tuple(options.get("stop", ())),
        seed=options.get("seed"),
    )
