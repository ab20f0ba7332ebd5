"""Bounded retries with exponential backoff and full jitter: the one place that retries.

SDKs' own retries are switched off (the Anthropic client gets max_retries=0), so
a provider's retry count means what the registry says, and a server's
Retry-After is honoured once instead of being slept through by two layers.
A stream is retried only while nothing has reached the caller.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from llmcontrol.providers.errors import ProviderError

T = TypeVar("T")
E = TypeVar("E")

MAX_BACKOFF_S = 8.0
# A server asking for a longer wait than this gets its rate_limited error back
# instead: a caller with a fallback chain is better served failing over now.
MAX_RETRY_AFTER_S = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int
    backoff_s: float
    max_backoff_s: float = MAX_BACKOFF_S
    max_retry_after_s: float = MAX_RETRY_AFTER_S


def delay_before_retry(error: ProviderError, retry_number: int, policy: RetryPolicy,
                       rand: Callable[[], float]) -> float | None:
    """Seconds to wait before retry number `retry_number` (1-based), or None to give up."""
    if not error.retryable or error.partial or retry_number > policy.max_retries:
        return None
    if error.retry_after is not None:
        if error.retry_after > policy.max_retry_after_s:
            return None
        return max(0.0, error.retry_after)  # the server knows its own window: wait exactly that
    # Full jitter (delay uniform in [0, ceiling]) spreads a burst of failed callers apart.
    ceiling = min(policy.max_backoff_s, policy.backoff_s * 2 ** (retry_number - 1))
    return rand() * ceiling


# Defaults, looked up at call time so a test fixture can replace them module-wide.
def default_sleep(seconds: float) -> None:
    time.sleep(seconds)


async def default_asleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


default_random: Callable[[], float] = random.random


def call(attempt: Callable[[int], T], policy: RetryPolicy,
         sleep: Callable[[float], None] | None = None,
         rand: Callable[[], float] | None = None) -> T:
    """Run attempt(1), attempt(2), ... until one succeeds or the policy gives up."""
    number = 1
    while True:
        try:
            return attempt(number)
        except ProviderError as error:
            error.attempts = number
            delay = delay_before_retry(error, number, policy, rand or default_random)
            if delay is None:
                raise
        (sleep or default_sleep)(delay)
        number += 1


async def acall(attempt: Callable[[int], Awaitable[T]], policy: RetryPolicy,
                sleep: Callable[[float], Awaitable[None]] | None = None,
                rand: Callable[[], float] | None = None) -> T:
    number = 1
    while True:
        try:
            return await attempt(number)
        except ProviderError as error:
            error.attempts = number
            delay = delay_before_retry(error, number, policy, rand or default_random)
            if delay is None:
                raise
        await (sleep or default_asleep)(delay)
        number += 1


def stream(attempt: Callable[[int], Iterator[E]], policy: RetryPolicy,
           sleep: Callable[[float], None] | None = None,
           rand: Callable[[], float] | None = None) -> Iterator[E]:
    """Yield one attempt's events; retry only while none has been yielded."""
    number = 1
    while True:
        yielded = False
        try:
            for event in attempt(number):
                yielded = True
                yield event
            return
        except ProviderError as error:
            error.attempts = number
            error.partial = error.partial or yielded
            delay = delay_before_retry(error, number, policy, rand or default_random)
            if delay is None:
                raise
        (sleep or default_sleep)(delay)
        number += 1


async def astream(attempt: Callable[[int], AsyncIterator[E]], policy: RetryPolicy,
                  sleep: Callable[[float], Awaitable[None]] | None = None,
                  rand: Callable[[], float] | None = None) -> AsyncIterator[E]:
    number = 1
    while True:
        yielded = False
        try:
            async for event in attempt(number):
                yielded = True
                yield event
            return
        except ProviderError as error:
            error.attempts = number
            error.partial = error.partial or yielded
            delay = delay_before_retry(error, number, policy, rand or default_random)
            if delay is None:
                raise
        await (sleep or default_asleep)(delay)
        number += 1
