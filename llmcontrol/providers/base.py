"""The provider adapter contract: requests, answers, stream events, errors.

Everything here is plain Python (no Django): the routing core, the client
package, the gateway and the benchmark all speak these types. Concrete adapters
implement four "one attempt" hooks; retries, request checks and timing origins
live once, in `Adapter`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from llmcontrol.providers import retry
from llmcontrol.providers.errors import RETRYABLE, ErrorKind, ProviderError
from llmcontrol.providers.quality import schema_problem

__all__ = [
    "RETRYABLE", "Adapter", "ChatRequest", "Completion", "Done", "ErrorKind", "HealthReport",
    "Message", "ProviderConfig", "ProviderError", "ReasoningDelta", "StreamEvent", "TextDelta",
    "Usage",
]


@dataclass(frozen=True)
class ProviderConfig:
    """How to reach one provider. `base_url` never includes an API version path
    (`http://127.0.0.1:8080`, not `.../v1`); a trailing version segment is
    tolerated and removed by the adapter."""

    key: str
    kind: str  # ollama, openai_compatible, anthropic, openai, google
    base_url: str
    api_key: str | None = field(repr=False)  # never printed, never logged
    timeout_s: float
    max_retries: int = 2
    retry_backoff_s: float = 0.5
    is_local: bool = False


@dataclass(frozen=True)
class Message:
    role: str  # user or assistant; the system prompt travels in ChatRequest.system
    content: str


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[Message, ...]
    system: str | None = None
    max_tokens: int = 1024
    temperature: float = 0.0
    json_mode: bool = False
    schema: dict[str, Any] | None = None  # a JSON Schema; implies JSON
    think: bool | str | None = None  # None: the provider's default
    keep_alive: str | None = None  # Ollama only
    stop: tuple[str, ...] = ()
    seed: int | None = None

    @property
    def wants_json(self) -> bool:
        return self.json_mode or self.schema is not None


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class Completion:
    """One adapter call's answer. Times are milliseconds from the start of the
    call (retries included: that is what the caller waited)."""

    content: str  # the answer only; leaked <think> text is moved to `reasoning`
    reasoning: str
    provider: str
    model: str
    duration_ms: float
    ttft_ms: float | None  # first token of any kind; None when not streamed
    ttfat_ms: float | None  # first answer token; None when not streamed
    finish_reason: str | None  # stop, length, or the provider's raw value
    usage: Usage
    think_leaked: bool = False
    json_requested: bool = False
    json_valid: bool | None = None
    generation_tps: float | None = None
    prompt_tps: float | None = None
    tps_source: str | None = None  # "server" (Ollama statistics) or "measured" (stream timing)
    attempts: int = 1


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class Done:
    completion: Completion


StreamEvent = TextDelta | ReasoningDelta | Done


@dataclass
class HealthReport:
    ok: bool
    detail: str
    models: list[str] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)
    latency_ms: float = 0.0


Sleep = Callable[[float], None]
AsyncSleep = Callable[[float], Awaitable[None]]


class Adapter(ABC):
    """One provider. Thread-safe; one pooled HTTP client per instance.

    `sleep`, `asleep` and `random` are injectable so tests never wait for a
    backoff; by default they are looked up in `retry` at call time.
    """

    def __init__(self, config: ProviderConfig, *, sleep: Sleep | None = None,
                 asleep: AsyncSleep | None = None,
                 random: Callable[[], float] | None = None) -> None:
        self.config = config
        self.policy = retry.RetryPolicy(config.max_retries, config.retry_backoff_s)
        self._sleep, self._asleep, self._random = sleep, asleep, random

    # Public API: check the request, start the clock, retry one-attempt hooks.

    def complete(self, model: str, request: ChatRequest) -> Completion:
        self._check(model, request)
        started = time.perf_counter()
        return retry.call(lambda n: self._complete_once(model, request, started, n),
                          self.policy, self._sleep, self._random)

    def stream(self, model: str, request: ChatRequest) -> Iterator[StreamEvent]:
        """Text and reasoning deltas, then exactly one Done. Retried only until
        the first event was yielded; after that an error carries partial=True."""
        self._check(model, request)
        started = time.perf_counter()
        return retry.stream(lambda n: self._stream_once(model, request, started, n),
                            self.policy, self._sleep, self._random)

    async def acomplete(self, model: str, request: ChatRequest) -> Completion:
        self._check(model, request)
        started = time.perf_counter()
        return await retry.acall(lambda n: self._acomplete_once(model, request, started, n),
                                 self.policy, self._asleep, self._random)

    def astream(self, model: str, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        self._check(model, request)
        started = time.perf_counter()
        return retry.astream(lambda n: self._astream_once(model, request, started, n),
                             self.policy, self._asleep, self._random)

    def health(self) -> HealthReport:
        """Free signals only (model listings); never raises."""
        started = time.perf_counter()
        try:
            report = self._health()
        except ProviderError as error:
            report = HealthReport(ok=False, detail=str(error))
        report.latency_ms = (time.perf_counter() - started) * 1000
        return report

    def close(self) -> None:  # noqa: B027 - adapters without resources need nothing
        """Release pooled connections."""

    async def aclose(self) -> None:
        self.close()

    # Hooks for concrete adapters. `attempt` is 1-based; `started` is perf_counter().

    @abstractmethod
    def _complete_once(self, model: str, request: ChatRequest, started: float,
                       attempt: int) -> Completion: ...

    @abstractmethod
    def _stream_once(self, model: str, request: ChatRequest, started: float,
                     attempt: int) -> Iterator[StreamEvent]: ...

    @abstractmethod
    async def _acomplete_once(self, model: str, request: ChatRequest, started: float,
                              attempt: int) -> Completion: ...

    @abstractmethod
    def _astream_once(self, model: str, request: ChatRequest, started: float,
                      attempt: int) -> AsyncIterator[StreamEvent]: ...

    @abstractmethod
    def _health(self) -> HealthReport: ...

    # Shared helpers

    def error(self, kind: ErrorKind, message: str, model: str = "",
              **details: Any) -> ProviderError:
        """A ProviderError for this provider, with the API key scrubbed from the message
        (some servers echo the credential they rejected)."""
        secret = self.config.api_key
        if secret and secret in message:
            message = message.replace(secret, "***")
        return ProviderError(kind, message, provider=self.config.key, model=model, **details)

    def _check(self, model: str, request: ChatRequest) -> None:
        # Refuse locally what no server could answer: saves a billed round trip.
        if not request.messages:
            raise self.error(ErrorKind.BAD_REQUEST, "no messages to send", model)
        if request.schema is not None and (problem := schema_problem(request.schema)):
            raise self.error(ErrorKind.BAD_REQUEST, f"invalid JSON schema: {problem}", model)
