"""Serving the gateway's paths without Django's per-request thread hops.

Django's ASGI handler runs every classic middleware's process_request and
process_response through `sync_to_async`, and the request_started and
request_finished signals (whose receivers are synchronous) through two more
hops, inside a context that starts a thread of its own per request. That is the
right default for the admin and the REST API. For the gateway it costs
milliseconds per call: under load each hop waits for the GIL behind the event
loop (up to the 5 ms switch interval), and the benchmark measured ~190 requests/s.

So `/v1/` requests go to a handler with the same URLs and async views but:
- no middleware (the gateway needs none: no sessions, cookies, CSRF or HTML);
- URLs resolved against the gateway's own patterns only;
- the request signals sent inline, on the event loop's thread. Their receivers
  (`reset_queries`, `close_old_connections`) act on the calling thread's database
  connections, and the loop's thread has none: the gateway's rare database work
  (a key or snapshot refresh) runs in `sync_to_async`, on asgiref's shared thread,
  and recovers from a dropped connection by itself (see `llmcontrol.api.keys`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import logging
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.urls import set_script_prefix

from llmcontrol.client import pool
from llmcontrol.gateway.views import body_too_large, declared_too_large

GATEWAY_PREFIX = "/v1/"
GATEWAY_URLCONF = "llmcontrol.gateway.root_urls"

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Any
Send = Any


class GatewayHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler.load_middleware with an empty MIDDLEWARE list.
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        self._middleware_chain = convert_exception_to_response(self._get_response_async)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # No ThreadSensitiveContext: nothing here needs a thread of its own.
        if declared_too_large(scope):
            # Answered before a byte of the body is read: a client that announces
            # gigabytes is not waited for.
            await self.send_response(body_too_large().response(), send)
            return
        await self.handle(scope, receive, send)

    async def read_body(self, receive: Receive) -> Any:
        """Django's, but past GATEWAY_MAX_BODY_BYTES the rest of a (chunked) body is read and
        dropped, not spooled to disk: the view answers 413 either way. What is kept is at
        most that size: in memory."""
        body_file = io.BytesIO()
        room = settings.GATEWAY_MAX_BODY_BYTES + 1
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body_file.close()
                raise RequestAborted()
            chunk = message.get("body", b"")[:room]
            body_file.write(chunk)
            room -= len(chunk)
            if not message.get("more_body", False):
                break
        body_file.seek(0)
        return body_file

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGIHandler.handle (Django 5.2) with the two signal hops made inline calls."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            error_response.close()
            return
        request.urlconf = GATEWAY_URLCONF

        async def process_request() -> Any:
            response = await self.run_get_response(request)
            # A client that disconnected while the response was sent.
            with contextlib.suppress(asyncio.CancelledError):
                await self.send_response(response, send)
            return response

        # As Django: a client that disconnects cancels the view (and so the upstream call).
        listener = asyncio.create_task(self.listen_for_disconnect(receive))
        worker = asyncio.create_task(process_request())
        await asyncio.wait([listener, worker], return_when=asyncio.FIRST_COMPLETED)
        for task in (listener, worker):
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            response = worker.result()
        except asyncio.CancelledError:
            signals.request_finished.send(sender=self.__class__)
        else:
            response.close()  # sends request_finished
        body_file.close()


async def lifespan(receive: Receive, send: Send) -> None:
    """The ASGI lifespan protocol, which Django does not speak. Its shutdown event comes
    once the requests in flight have finished (uvicorn waits for them, streams included):
    the moment to write the metrics this process still holds and close the providers'
    connection pools. (uvicorn re-raises SIGTERM after shutting down, so the recorder's
    atexit flush never runs.)"""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await warm_up()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await asyncio.to_thread(flush_metrics)
            try:
                await asyncio.wait_for(pool.aclose_all(), timeout=5.0)
            except Exception:  # closing is a courtesy to the upstreams: never block exit
                logger.exception("closing the provider connection pools failed")
            await send({"type": "lifespan.shutdown.complete"})
            return


async def warm_up() -> None:
    """Before the first request: the routing snapshot, and the adapter modules of the
    enabled providers imported off the event loop. Imported at the first cloud call, the
    Anthropic SDK (about 1 s of CPU) held the loop: every request in flight stalled with
    it, and local timeouts fired seconds late."""
    from llmcontrol.providers import adapter_class
    from registry.snapshot import aget_snapshot

    try:
        snapshot = await aget_snapshot()
        kinds = sorted({p.kind for p in snapshot.providers.values() if p.enabled})
        await asyncio.to_thread(lambda: [adapter_class(kind) for kind in kinds])
    except Exception:  # the first requests will do it: never refuse to start for this
        logger.exception("warming up the routing snapshot and provider adapters failed")
    # What was just imported lives as long as the process: out of the cyclic collector's
    # scans, like the rest of Django (see llmcontrol.asgi).
    gc.collect()
    gc.freeze()


def flush_metrics(timeout: float | None = None) -> None:
    """Write the buffered metrics, waiting at most `timeout` (METRICS_SHUTDOWN_TIMEOUT);
    log how many, or how many not (the recorder logs what it could not write)."""
    from llmcontrol.client.backends import get_backend

    if timeout is None:
        timeout = settings.METRICS_SHUTDOWN_TIMEOUT
    backend = get_backend()
    pending = getattr(backend, "pending", lambda: None)()
    if backend.flush(timeout):
        logger.info("shutdown: %s buffered metric record(s) written",
                    "all" if pending is None else pending)
    else:
        logger.error("shutdown: exiting with metrics not written (the database is "
                     "unreachable?); see the metric writer's messages above")


def with_gateway(django_application: Any) -> Any:
    """The project's ASGI application, with /v1/ served by the lean GatewayHandler."""
    gateway = GatewayHandler()

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(GATEWAY_PREFIX):
            await gateway(scope, receive, send)
        elif scope["type"] == "lifespan":
            await lifespan(receive, send)
        else:
            await django_application(scope, receive, send)

    return application
