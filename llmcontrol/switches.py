"""Environment switches read at call time, never at import (the seed's lesson 4).

A `.env` file loaded after this module was imported still takes effect, and a
bad value is an error that names the variable instead of silently meaning False.
No Django import here: the routing core and the remote client use it too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
ENV_NAME_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


def parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    allowed = "/".join(sorted(TRUE_WORDS | FALSE_WORDS))
    raise ConfigError(f"{name}={raw!r} is not a boolean; use one of {allowed}")


def parse_positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be a positive integer")
    return value


def parse_url(name: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    if not re.match(r"^https?://[^\s/]+", value):
        raise ConfigError(f"{name}={raw!r} is not an http(s) URL")
    return value


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    source = os.environ if environ is None else environ
    raw = source.get(name)
    if raw is None or raw.strip() == "":
        return default
    return parse_bool(name, raw)


@dataclass(frozen=True, slots=True)
class Switches:
    """The seed's switches. The Ollama ones are None when unset: the registry's
    values (provider base URL and timeout, local model priority) apply then."""

    use_local_llm: bool = False
    ollama_fallback_enabled: bool = True
    ollama_base_url: str | None = None
    ollama_model: str | None = None
    ollama_timeout_ms: int | None = None


SWITCH_NAMES = ("USE_LOCAL_LLM", "OLLAMA_FALLBACK_ENABLED", "OLLAMA_BASE_URL", "OLLAMA_MODEL",
                "OLLAMA_TIMEOUT_MS")
_parsed: dict[tuple[str | None, ...], Switches] = {}


def read_switches(environ: Mapping[str, str] | None = None) -> Switches:
    """Read and strictly parse the seed's switches from the environment, now.

    The environment is read on every call; parsing is remembered per distinct
    set of raw values, so a call pays for five dict look-ups, not for parsing.
    """
    source = os.environ if environ is None else environ
    raw_values = tuple(source.get(name) for name in SWITCH_NAMES)
    cached = _parsed.get(raw_values)
    if cached is None:
        cached = _parse_switches(raw_values)
        if len(_parsed) > 64:  # bounded: the environment rarely changes
            _parsed.clear()
        _parsed[raw_values] = cached
    return cached


def _parse_switches(raw_values: tuple[str | None, ...]) -> Switches:
    values = dict(zip(SWITCH_NAMES, raw_values, strict=True))

    def raw(name: str) -> str | None:
        value = values[name]
        return None if value is None or value.strip() == "" else value

    base_url, model, timeout = raw("OLLAMA_BASE_URL"), raw("OLLAMA_MODEL"), raw("OLLAMA_TIMEOUT_MS")
    return Switches(
        use_local_llm=parse_bool("USE_LOCAL_LLM", raw("USE_LOCAL_LLM") or "false"),
        ollama_fallback_enabled=parse_bool(
            "OLLAMA_FALLBACK_ENABLED", raw("OLLAMA_FALLBACK_ENABLED") or "true"
        ),
        ollama_base_url=parse_url("OLLAMA_BASE_URL", base_url) if base_url else None,
        ollama_model=model.strip() if model else None,
        ollama_timeout_ms=parse_positive_int("OLLAMA_TIMEOUT_MS", timeout) if timeout else None,
    )


def read_api_key(env_name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The API key held in the named variable, read now; None when unset.

    Keys live only in the environment: the registry stores the variable's name.
    """
    if not env_name:
        return None
    source = os.environ if environ is None else environ
    value = source.get(env_name, "").strip()
    return value or None
