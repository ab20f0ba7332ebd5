"""The shared HTTP machinery of the httpx-based adapters (Ollama, OpenAI-compatible, Gemini).

A protocol module says how to build its request, how to read a reply, how to
decode its stream and what its errors mean; this module does the talking:
one pooled client per adapter, explicit timeouts, the transport errors mapped
once, sync and async paths that share everything but the awaits.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import weakref
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import httpx

from llmcontrol.providers.assemble import Assembler, End, Piece
from llmcontrol.providers.base import (
    Adapter,
    ChatRequest,
    Completion,
    ErrorKind,
    ProviderConfig,
    StreamEvent,
)
from llmcontrol.providers.errors import error_details, kind_for_status, parse_retry_after
from llmcontrol.providers.wire import Frame, NdjsonFrames, SseFrames, WireError, load_json

C = TypeVar("C")
SHAPE_ERRORS = (KeyError, TypeError, IndexError, AttributeError, ValueError)


class StreamDecoder(Protocol):
    def feed(self, event: str | None, data: Any) -> list[Piece]: ...
    def close(self) -> list[Piece]: ...


def decode(step: Callable[..., list[Piece]], *args: Any) -> list[Piece]:
    """Run a decoder step; a reply missing a field is an invalid response, not a crash."""
    try:
        return step(*args)
    except WireError:
        raise
    except SHAPE_ERRORS as error:
        raise WireError(ErrorKind.INVALID_RESPONSE,
                        f"unexpected reply shape ({type(error).__name__}: {error})") from error


@lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    """Loading the CA bundle costs ~25 ms; adapters are rebuilt whenever a provider's
    settings change, so they share one context (SSLContext is safe to share)."""
    return httpx.create_ssl_context()


def strip_version(base_url: str, suffix: str) -> str:
    base_url = base_url.rstrip("/")
    return base_url[: -len(suffix)] if suffix and base_url.endswith(suffix) else base_url


class PerLoop(Generic[C]):
    """One async client per running event loop: pooled connections belong to the
    loop that opened them and break when used from another one."""

    def __init__(self, factory: Callable[[], C]) -> None:
        self._factory = factory
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, C] = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()

    def get(self) -> C:
        loop = asyncio.get_running_loop()
        with self._lock:
            for old in [lp for lp in self._clients if lp.is_closed()]:
                del self._clients[old]  # its connections died with it
            client = self._clients.get(loop)
            if client is None:
                client = self._clients[loop] = self._factory()
            return client

    def pop_current(self) -> C | None:
        with self._lock:
            return self._clients.pop(asyncio.get_running_loop(), None)

    def clear(self) -> None:
        with self._lock:
            self._clients.clear()


class _Phase:
    body = False  # True once a stream's headers arrived: a later cut is a truncated stream


class _Session:
    """One streamed attempt: framing, protocol decoder and assembler, fed line by line."""

    def __init__(self, frames: NdjsonFrames | SseFrames, decoder: StreamDecoder,
                 assembler: Assembler) -> None:
        self.frames, self.decoder, self.assembler = frames, decoder, assembler

    def feed_line(self, line: str) -> list[StreamEvent]:
        return self._feed(self.frames.feed_line(line))

    def finish(self) -> list[StreamEvent]:
        events = self._feed(self.frames.close())
        for piece in decode(self.decoder.close):
            events += self.assembler.feed(piece)
        if not self.assembler.ended:
            raise WireError(ErrorKind.INVALID_RESPONSE,
                            "stream ended before the protocol's end marker (truncated)")
        return events + self.assembler.finish()

    def _feed(self, frames: list[Frame]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for event, data in frames:
            for piece in decode(self.decoder.feed, event, data):
                events += self.assembler.feed(piece)
        return events


class HttpAdapter(Adapter):
    framing: ClassVar[str] = "sse"  # or "ndjson"
    version_suffix: ClassVar[str] = ""  # tolerated at the end of base_url, and removed

    def __init__(self, config: ProviderConfig, **tools: Any) -> None:
        super().__init__(config, **tools)
        self.base_url = strip_version(config.base_url, self.version_suffix)
        self._client = httpx.Client(**self._client_options())
        self._async_clients: PerLoop[httpx.AsyncClient] = PerLoop(
            lambda: httpx.AsyncClient(**self._client_options()))

    def _client_options(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            # One figure for connect, read (between bytes), write and pool waits.
            "timeout": httpx.Timeout(self.config.timeout_s),
            "headers": self._headers(),
            # The gateway holds hundreds of streams per process, each an open connection
            # to its provider: a small pool would queue them (and time them out).
            "limits": httpx.Limits(max_connections=1024, max_keepalive_connections=128),
            "verify": shared_ssl_context(),
        }

    # Protocol hooks

    def _headers(self) -> dict[str, str]:
        return {}

    @abstractmethod
    def _chat_call(self, model: str, request: ChatRequest,
                   stream: bool) -> tuple[str, dict[str, str], dict[str, Any]]:
        """(path, query parameters, JSON body) of one chat request."""

    @abstractmethod
    def _reply_pieces(self, data: Any) -> list[Piece]: ...

    @abstractmethod
    def _stream_decoder(self) -> StreamDecoder: ...

    def _status_error(self, status: int, headers: Mapping[str, str], body: str) -> WireError:
        message, _ = error_details(body)
        return WireError(kind_for_status(status), message, status_code=status,
                         retry_after=parse_retry_after(headers))

    # One attempt, sync

    def _complete_once(self, model: str, request: ChatRequest, started: float,
                       attempt: int) -> Completion:
        path, params, body = self._chat_call(model, request, stream=False)
        assembler = self._assembler(model, request, started, attempt, streamed=False)
        # A reply cut before it was complete delivered nothing: unavailable (retryable).
        with self._mapped(model), \
                self._client.stream("POST", path, params=params, json=body) as response:
            response.read()
            pieces = self._reply(response)
            for piece in pieces:
                assembler.feed(piece)
            return assembler.completion()

    def _stream_once(self, model: str, request: ChatRequest, started: float,
                     attempt: int) -> Iterator[StreamEvent]:
        path, params, body = self._chat_call(model, request, stream=True)
        session = self._session(model, request, started, attempt)
        with self._mapped(model) as phase, \
                self._client.stream("POST", path, params=params, json=body) as response:
            phase.body = True
            if response.status_code >= 400:
                response.read()
                raise self._status_error(response.status_code, response.headers, response.text)
            for line in response.iter_lines():
                yield from session.feed_line(line)
            events = session.finish()
        yield from events

    # One attempt, async

    async def _acomplete_once(self, model: str, request: ChatRequest, started: float,
                              attempt: int) -> Completion:
        path, params, body = self._chat_call(model, request, stream=False)
        assembler = self._assembler(model, request, started, attempt, streamed=False)
        client = self._async_clients.get()
        with self._mapped(model):
            async with client.stream("POST", path, params=params, json=body) as response:
                await response.aread()
                for piece in self._reply(response):
                    assembler.feed(piece)
                return assembler.completion()

    async def _astream_once(self, model: str, request: ChatRequest, started: float,
                            attempt: int) -> AsyncIterator[StreamEvent]:
        path, params, body = self._chat_call(model, request, stream=True)
        session = self._session(model, request, started, attempt)
        client = self._async_clients.get()
        with self._mapped(model) as phase:
            async with client.stream("POST", path, params=params, json=body) as response:
                phase.body = True
                if response.status_code >= 400:
                    await response.aread()
                    raise self._status_error(response.status_code, response.headers,
                                             response.text)
                async for line in response.aiter_lines():
                    for event in session.feed_line(line):
                        yield event
                events = session.finish()
        for event in events:
            yield event

    # Shared

    def _reply(self, response: httpx.Response) -> list[Piece]:
        if response.status_code >= 400:
            raise self._status_error(response.status_code, response.headers, response.text)
        pieces = decode(self._reply_pieces, load_json(response.text, "reply body"))
        if not any(isinstance(piece, End) for piece in pieces):
            raise WireError(ErrorKind.INVALID_RESPONSE, "reply is not a finished answer")
        return pieces

    def _assembler(self, model: str, request: ChatRequest, started: float, attempt: int, *,
                   streamed: bool) -> Assembler:
        return Assembler(provider=self.config.key, model=model, request=request,
                         started=started, attempt=attempt, streamed=streamed)

    def _session(self, model: str, request: ChatRequest, started: float,
                 attempt: int) -> _Session:
        frames = NdjsonFrames() if self.framing == "ndjson" else SseFrames()
        return _Session(frames, self._stream_decoder(),
                        self._assembler(model, request, started, attempt, streamed=True))

    def _get_json(self, path: str) -> Any:
        """A free GET (model listings for health); errors are ProviderErrors."""
        with self._mapped("") as phase:
            response = self._client.get(path)
            phase.body = True
            return self._reply_json(response)

    def _reply_json(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise self._status_error(response.status_code, response.headers, response.text)
        return load_json(response.text, "reply body")

    @contextmanager
    def _mapped(self, model: str) -> Iterator[_Phase]:
        """Every failure inside becomes a classified ProviderError."""
        phase = _Phase()
        try:
            yield phase
        except WireError as error:
            raise self.error(error.kind, error.message, model, status_code=error.status_code,
                             retry_after=error.retry_after) from error
        except httpx.TimeoutException as error:
            raise self.error(ErrorKind.TIMEOUT, f"no answer within {self.config.timeout_s:g}s "
                             f"({type(error).__name__})", model) from error
        except httpx.ConnectError as error:
            raise self.error(ErrorKind.UNAVAILABLE,
                             f"cannot connect to {self.base_url}: {error}", model) from error
        except httpx.HTTPError as error:
            if phase.body:  # a stream had started: what we hold is a truncated reply
                raise self.error(ErrorKind.INVALID_RESPONSE,
                                 f"connection lost mid-reply: {error}", model) from error
            raise self.error(ErrorKind.UNAVAILABLE,
                             f"connection to {self.base_url} failed: {error}", model) from error

    def close(self) -> None:
        self._client.close()
        self._async_clients.clear()

    async def aclose(self) -> None:
        client = self._async_clients.pop_current()
        if client is not None:
            await client.aclose()
        self.close()
