"""What a call through the client returns, and what it raises."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmcontrol.providers import ErrorKind, ProviderError, Usage


@dataclass
class LLMResult:
    """The answer of one call, with where it ran and how it went.

    The seed's fields (`content`, `provider`, `model`, `duration_ms`, `usage`,
    `local`, `fallback`) keep their meaning; the rest is what a rollout needs.
    """

    content: str
    provider: str
    model: str
    duration_ms: float
    usage: Usage
    local: bool
    fallback: bool
    tier: str
    routed_to: str  # local, cloud or fallback
    bucket: int
    stage: int
    reason: str
    request_id: str
    ttft_ms: float | None = None
    ttfat_ms: float | None = None
    finish_reason: str | None = None
    reasoning: str = ""
    think_leaked: bool = False
    json_requested: bool = False
    json_valid: bool | None = None
    generation_tps: float | None = None
    tps_source: str | None = None
    attempts: int = 1
    retries: int = 0  # provider retries (after a 429, 5xx or cut) over all the attempts
    errors: list[str] = field(default_factory=list)  # failed attempts before this answer


class LLMCallError(Exception):
    """Every route of a call failed (or a terminal error stopped it).

    `kind` is the last provider error's kind; `partial` is True when a stream
    had already sent text to the caller, so no fallback was possible. `retries`
    counts the provider retries made over all the attempts.
    """

    def __init__(self, message: str, *, last: ProviderError | None, request_id: str,
                 tier: str, attempts: int, retries: int = 0, partial: bool = False) -> None:
        super().__init__(message)
        self.last = last
        self.kind: ErrorKind | None = last.kind if last else None
        self.request_id = request_id
        self.tier = tier
        self.attempts = attempts
        self.retries = retries
        self.partial = partial
