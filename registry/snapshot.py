"""Build the routing snapshot from the database, and keep one per process fresh.

`get_snapshot()` is on every call's path. With a warm snapshot it costs a clock
read and a comparison: no query. At most every REGISTRY_POLL_INTERVAL seconds
one caller runs one cheap query (the registry version) and rebuilds the snapshot
(five queries) only if the version moved; REGISTRY_SNAPSHOT_TTL forces a rebuild
as a backstop. If the database is unreachable at start, the built-in defaults
serve; if it goes away later, the last good snapshot keeps serving and the
failure is logged once, then once more when it recovers.

On the event loop (`aget_snapshot`) a due check never holds a request for long:
one check runs at a time, and a request waits for it at most REFRESH_WAIT_S
before routing on the snapshot it has. A database behind a network partition
(connections hanging until DB_CONNECT_TIMEOUT) then costs requests nothing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from types import MappingProxyType

from django.conf import settings
from django.db import DatabaseError, connection

from canary.selectors import rollout_specs
from llmcontrol.routing import ModelSpec, ProviderSpec, RoutingSnapshot, freeze_rules
from registry.actions import current_version
from registry.invariants import BUILTIN_DEFAULT_TIER
from registry.models import Model, Provider, RegistryState, RoutingRule, RuleKind

logger = logging.getLogger(__name__)

REFRESH_WAIT_S = 0.25


def build_snapshot() -> RoutingSnapshot:
    """One consistent snapshot in a handful of queries, whatever the registry's size."""
    version = RegistryState.objects.filter(pk=1).values_list("version", flat=True).first() or 0
    providers: dict[str, ProviderSpec] = {}
    provider_keys: dict[int, str] = {}
    for p in Provider.objects.all():
        provider_keys[p.pk] = p.key
        providers[p.key] = ProviderSpec(
            key=p.key,
            name=p.name,
            kind=p.kind,
            base_url=p.base_url,
            api_key_env=p.api_key_env,
            is_local=p.is_local,
            enabled=p.enabled,
            timeout_ms=p.timeout_ms,
            max_retries=p.max_retries,
            retry_backoff_ms=p.retry_backoff_ms,
        )
    models = tuple(
        ModelSpec(
            provider_key=provider_keys[m["provider_id"]],
            model_key=m["model_key"],
            display_name=m["display_name"],
            tier=m["tier"],
            status=m["status"],
            priority=m["priority"],
            is_local=providers[provider_keys[m["provider_id"]]].is_local,
            context_window=m["context_window"],
            input_price_per_mtok=float(m["input_price_per_mtok"]),
            output_price_per_mtok=float(m["output_price_per_mtok"]),
            supports_json=m["supports_json"],
            supports_streaming=m["supports_streaming"],
            supports_thinking=m["supports_thinking"],
        )
        for m in Model.objects.values(
            "provider_id",
            "model_key",
            "display_name",
            "tier",
            "status",
            "priority",
            "context_window",
            "input_price_per_mtok",
            "output_price_per_mtok",
            "supports_json",
            "supports_streaming",
            "supports_thinking",
        )
    )
    phase, sub_agent, purpose, default = [], [], [], BUILTIN_DEFAULT_TIER
    for kind, p, s, u, tier in RoutingRule.objects.values_list(
        "kind", "phase", "sub_agent", "purpose", "tier"
    ):
        if kind == RuleKind.PHASE:
            phase.append((p, s, tier))
        elif kind == RuleKind.SUB_AGENT:
            sub_agent.append((s, tier))
        elif kind == RuleKind.PURPOSE:
            purpose.append((u, tier))
        else:
            default = tier
    return RoutingSnapshot(
        version=version,
        providers=MappingProxyType(providers),
        models=models,
        rules=freeze_rules(phase, sub_agent, purpose, default),
        rollouts=MappingProxyType(rollout_specs()),
        source="database",
    )


class SnapshotCache:
    def __init__(self, poll_interval: float | None = None, ttl: float | None = None) -> None:
        self.poll_interval = poll_interval
        self.ttl = ttl
        self._snapshot: RoutingSnapshot | None = None
        self._checked_at = 0.0
        self._built_at = 0.0
        self._database_down = False
        self._lock = threading.Lock()

    def last(self) -> RoutingSnapshot | None:
        """The snapshot held now, fresh or not (never queries)."""
        return self._snapshot

    def fresh(self) -> RoutingSnapshot | None:
        """The snapshot if no version check is due, else None (never queries)."""
        snapshot = self._snapshot
        if snapshot is not None and time.monotonic() - self._checked_at < self._interval():
            return snapshot
        return None

    def get(self) -> RoutingSnapshot:
        snapshot = self.fresh()
        if snapshot is not None:
            return snapshot
        with self._lock:  # one thread checks; the others wait and take its result
            snapshot = self.fresh()
            if snapshot is None:
                self._revalidate(force=False)
                snapshot = self._snapshot
            assert snapshot is not None
            return snapshot

    def _interval(self) -> float:
        if self.poll_interval is None:
            return float(settings.REGISTRY_POLL_INTERVAL)
        return self.poll_interval

    def refresh(self) -> RoutingSnapshot:
        with self._lock:
            self._revalidate(force=True)
            assert self._snapshot is not None
            return self._snapshot

    def clear(self) -> None:
        with self._lock:
            self._snapshot = None
            self._checked_at = self._built_at = 0.0

    def _revalidate(self, *, force: bool) -> None:
        now = time.monotonic()
        ttl = settings.REGISTRY_SNAPSHOT_TTL if self.ttl is None else self.ttl
        try:
            stale = (
                force
                or self._snapshot is None
                or now - self._built_at >= ttl
                or current_version() != self._snapshot.version
                or self._snapshot.source != "database"
            )
            if stale:
                self._snapshot = build_snapshot()
                self._built_at = now
        except DatabaseError as exc:
            self._on_database_error(exc)
        else:
            if self._database_down:
                logger.warning(
                    "registry database reachable again; snapshot version %s", self._snapshot.version
                )
                self._database_down = False
        self._checked_at = time.monotonic()

    def _on_database_error(self, exc: DatabaseError) -> None:
        if not self._database_down:
            serving = "last good snapshot" if self._snapshot else "built-in defaults"
            logger.warning(
                "registry database unreachable (%s); serving the %s",
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                serving,
            )
            self._database_down = True
        if self._snapshot is None:
            from registry.defaults import builtin_snapshot

            self._snapshot = builtin_snapshot()
        # A failed connection is unusable; drop it so the next check reconnects.
        if not connection.in_atomic_block:
            connection.close()


_cache = SnapshotCache()


def get_snapshot() -> RoutingSnapshot:
    """This process's current routing snapshot (no query while it is fresh)."""
    return _cache.get()


_check: asyncio.Future[RoutingSnapshot] | None = None


async def aget_snapshot() -> RoutingSnapshot:
    """get_snapshot() for async callers: the check runs off the event loop when due, and
    a request waits for it at most REFRESH_WAIT_S when there is a snapshot to route on."""
    from asgiref.sync import sync_to_async

    global _check
    snapshot = _cache.fresh()
    if snapshot is not None:
        return snapshot
    loop = asyncio.get_running_loop()
    check = _check
    if check is None or check.done() or check.get_loop() is not loop:
        check = _check = asyncio.ensure_future(sync_to_async(_cache.get)())
    last = _cache.last()
    if last is None:
        return await asyncio.shield(check)
    try:
        return await asyncio.wait_for(asyncio.shield(check), REFRESH_WAIT_S)
    except TimeoutError:
        return last


def refresh_snapshot() -> RoutingSnapshot:
    """Rebuild this process's snapshot now."""
    return _cache.refresh()


def clear_snapshot_cache() -> None:
    _cache.clear()
