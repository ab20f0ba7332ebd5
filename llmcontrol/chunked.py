"""Chunked request bodies for Django's views.

Django reads a request body up to its Content-Length; a body sent with
`Transfer-Encoding: chunked` has none, and Django read it as empty: a
POST /api/v1/route from a client streaming its body was routed as `{}`, with no
error. This wrapper reads such a body first (keeping at most
DATA_UPLOAD_MAX_MEMORY_SIZE + 1 bytes; the rest is read and dropped) and hands it
to Django with the Content-Length it turned out to have, so an oversized one still
gets the API's 413.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def with_content_length(app: App) -> App:
    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _chunked_without_length(scope["headers"]):
            await app(scope, receive, send)
            return
        limit = (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) + 1
        kept, size = bytearray(), 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before its body ended: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            kept += chunk[: max(0, limit - len(kept))]
            if not message.get("more_body", False):
                break
        headers = [(name, value) for name, value in scope["headers"]
                   if name.lower() != b"transfer-encoding"]
        headers.append((b"content-length", str(size).encode()))
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: the disconnect, when it comes
            replayed = True
            return {"type": "http.request", "body": bytes(kept), "more_body": False}

        await app({**scope, "headers": headers}, replay, send)

    return application


def _chunked_without_length(headers: list[tuple[bytes, bytes]]) -> bool:
    chunked = False
    for name, value in headers:
        name = name.lower()
        if name == b"content-length":
            return False
        if name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return chunked
