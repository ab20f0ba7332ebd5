"""API key checks shared by the REST API and the gateway.

A presented key is found by its readable prefix and compared by hash with
`hmac.compare_digest`. The row is cached per process for API_KEY_CACHE_SECONDS
(default 1 s), so a busy key costs one query a second rather than one per
request, and a revoked key stops working everywhere within that time. The
last-used time is written at most once a minute per key and process.

On the gateway's event loop, a key already known is re-checked in the background:
one check per key at a time, and a request waits for it at most RELOAD_WAIT_S
before using the row it has. A database that hangs rather than refuses (a
partition; connections waiting out DB_CONNECT_TIMEOUT) then holds no request.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from registry.models import ApiKey, ApiKeyScope, hash_key

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

LAST_USED_EVERY_S = 60.0
MAX_CACHED = 10_000  # prefixes, good and bad; cleared whole past this (a flood of made-up keys)
RELOAD_WAIT_S = 0.25  # how long a request waits for a known key's re-check


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind a valid key. Stands in for DRF's `request.user` too."""

    key_id: int
    name: str
    prefix: str
    scope: str

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    @property
    def username(self) -> str:
        return f"api:{self.name}"

    def allows(self, scope: str) -> bool:
        return self.scope == ApiKeyScope.ADMIN or scope == self.scope


@dataclass(frozen=True, slots=True)
class _Stored:
    principal: Principal
    key_hash: str


class KeyCache:
    def __init__(self) -> None:
        self._rows: dict[str, tuple[float, _Stored | None]] = {}
        self._touched: dict[int, float] = {}
        self._load_lock = threading.Lock()
        self._unavailable_until = 0.0  # monotonic: no query before then (database down)
        self._database_down = False
        self._reloads: dict[str, asyncio.Future[_Stored | None]] = {}
        self._touches: set[asyncio.Future[None]] = set()  # held until done (not collected)

    def authenticate(self, raw: str) -> Principal | None:
        """The principal for a presented key, or None (unknown, malformed or revoked)."""
        prefix = ApiKey.prefix_of(raw)
        if prefix is None:
            return None
        stored = self._fresh(prefix)
        if stored is _MISSING:
            stored = self._load_once(prefix)
        principal = self._check(raw, stored)  # type: ignore[arg-type]
        if principal is not None and self._touch_due(principal.key_id):
            self._touch(principal.key_id)
        return principal

    async def aauthenticate(self, raw: str) -> Principal | None:
        """authenticate() for the event loop: no thread hop while the cache answers."""
        prefix = ApiKey.prefix_of(raw)
        if prefix is None:
            return None
        stored = self._fresh(prefix)
        if stored is _MISSING:
            known = self._rows.get(prefix)
            if known is None:  # never seen: nothing to answer with but the database
                return await sync_to_async(_as_one_request(self.authenticate))(raw)
            stored = await self._reloaded(prefix, known[1])
        principal = self._check(raw, stored)  # type: ignore[arg-type]
        if principal is not None and self._touch_due(principal.key_id):
            # In the background: the time is informative, and a hung database would hold
            # the request for DB_CONNECT_TIMEOUT.
            touch = asyncio.ensure_future(
                sync_to_async(_as_one_request(self._touch))(principal.key_id))
            self._touches.add(touch)
            touch.add_done_callback(self._touches.discard)
        return principal

    async def _reloaded(self, prefix: str, known: _Stored | None) -> _Stored | None:
        """A known key's row re-read, or the row we have when the re-check is slow."""
        loop = asyncio.get_running_loop()
        reload = self._reloads.get(prefix)
        if reload is None or reload.done() or reload.get_loop() is not loop:
            reload = asyncio.ensure_future(
                sync_to_async(_as_one_request(self._load_once))(prefix))
            self._reloads[prefix] = reload
            reload.add_done_callback(lambda done: self._forget_reload(prefix, done))
        try:
            return await asyncio.wait_for(asyncio.shield(reload), RELOAD_WAIT_S)
        except TimeoutError:
            return known

    def _forget_reload(self, prefix: str, done: asyncio.Future[_Stored | None]) -> None:
        if self._reloads.get(prefix) is done:
            del self._reloads[prefix]
        if not done.cancelled():
            done.exception()  # retrieved: a failure is already logged by _load

    def _load_once(self, prefix: str) -> _Stored | None:
        """One load at a time: when a burst of requests arrives with a cold cache, each in
        its own thread, the first queries and the others find its result (rather than
        each opening a database connection of its own)."""
        with self._load_lock:
            stored = self._fresh(prefix)
            return self._load(prefix) if stored is _MISSING else stored  # type: ignore[return-value]

    def clear(self) -> None:
        self._rows.clear()
        self._touched.clear()
        self._reloads.clear()
        self._unavailable_until = 0.0

    def _fresh(self, prefix: str) -> _Stored | None | object:
        entry = self._rows.get(prefix)
        if entry is None or time.monotonic() - entry[0] >= settings.API_KEY_CACHE_SECONDS:
            return _MISSING
        return entry[1]

    def _load(self, prefix: str) -> _Stored | None:
        if time.monotonic() < self._unavailable_until:
            return self._from_cache(prefix)  # in an outage: no attempt until the period ends
        try:
            row = (ApiKey.objects.active().filter(prefix=prefix)
                   .values("pk", "name", "scope", "key_hash").first())
        except DatabaseError as exc:
            _release_broken_connection()
            # One connection attempt per cache period, whatever the traffic, and one log
            # line per outage (as the routing snapshot does).
            self._unavailable_until = time.monotonic() + settings.API_KEY_CACHE_SECONDS
            if not self._database_down:
                logger.warning("API keys: database unavailable (%s); the keys already "
                               "checked keep working, others get 503 until it is back", exc)
                self._database_down = True
            return self._from_cache(prefix, exc)
        if self._database_down:
            logger.warning("API keys: database reachable again")
            self._database_down = False
        stored = None
        if row:
            stored = _Stored(Principal(row["pk"], row["name"], prefix, row["scope"]),
                             row["key_hash"])
        if len(self._rows) >= MAX_CACHED:
            self._rows.clear()
        self._rows[prefix] = (time.monotonic(), stored)
        return stored

    def _from_cache(self, prefix: str, cause: Exception | None = None) -> _Stored | None:
        """Through a database outage, a key we know keeps working (re-stamped: served from
        the cache for another period); a key never seen cannot be checked."""
        entry = self._rows.get(prefix)
        if entry is None:
            raise KeysUnavailable("API keys cannot be checked: the database is unavailable") \
                from cause
        self._rows[prefix] = (time.monotonic(), entry[1])
        return entry[1]

    @staticmethod
    def _check(raw: str, stored: _Stored | None) -> Principal | None:
        if stored is None:
            return None
        if not hmac.compare_digest(hash_key(raw), stored.key_hash):
            return None
        return stored.principal

    @staticmethod
    def _touch(key_id: int) -> None:
        try:
            ApiKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())
        except DatabaseError as exc:  # best effort: the time is informative only
            _release_broken_connection()
            logger.warning("could not record the last use of API key %s: %s", key_id, exc)

    def _touch_due(self, key_id: int) -> bool:
        now = time.time()  # wall clock, like the last_used_at it gates
        if now - self._touched.get(key_id, -LAST_USED_EVERY_S) < LAST_USED_EVERY_S:
            return False
        self._touched[key_id] = now
        return True


class KeysUnavailable(RuntimeError):
    """A key could not be checked (the database is unreachable and the key is not cached)."""


def _as_one_request(function: Callable[P, R]) -> Callable[P, R]:
    """Database work done for the gateway off its event loop, treated like one request:
    stale connections are closed before and after, as Django does around each request.
    (The gateway's handler sends the request signals on the loop's thread, which holds
    no connection; see llmcontrol.gateway.asgi.)"""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        # Never inside a transaction (a test's, or a caller's): closing would end it.
        outside = not connection.in_atomic_block
        if outside:
            close_old_connections()
        try:
            return function(*args, **kwargs)
        finally:
            if outside:
                close_old_connections()

    return wrapper


def _release_broken_connection() -> None:
    if not connection.in_atomic_block:
        connection.close()


_MISSING = object()
key_cache = KeyCache()


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when it is not one."""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token
