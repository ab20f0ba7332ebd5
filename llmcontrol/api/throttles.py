"""Per-key rate limits, one bucket per (key, scope). Over the limit: 429 with Retry-After.

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (set from API_RATE_* in
the environment), read at call time. Counts live in Django's cache: per process
with the default local-memory cache, shared across replicas with a shared one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from llmcontrol.api.keys import Principal


class ApiKeyRateThrottle(ScopedRateThrottle):
    def get_rate(self) -> str | None:
        # DRF binds the rates at import; reading them now lets settings change them.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # type: ignore[no-any-return]

    def get_cache_key(self, request: Any, view: Any) -> str:
        principal = getattr(request, "auth", None)
        ident = principal.prefix if isinstance(principal, Principal) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class _GatewayView:
    throttle_scope = "gateway"


@dataclass(frozen=True, slots=True)
class _KeyOnly:
    auth: Principal


def gateway_allows(principal: Principal) -> float | None:
    """None when this key may make one more gateway request now (and counts it);
    else the seconds to wait. The gateway is not a DRF view: same throttle, scope "gateway"."""
    throttle = ApiKeyRateThrottle()
    if throttle.allow_request(_KeyOnly(principal), _GatewayView()):
        return None
    return throttle.wait() or 1.0
