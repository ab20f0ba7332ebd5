"""The seed's routing file (`config/phase-model-routing.json`), parsed and written losslessly.

    {
      "version": "1.0",                       <- any other top-level key is kept as is
      "phaseOverrides": {"EXEC": {"TESTING": "sonnet"}},
      "defaults": {"RCA": "sonnet"},
      "purposes": {"classification": "haiku"},   <- our addition: the seed's purpose table
      "defaultTier": "sonnet"                    <- our addition
    }

Sections present in a file replace those rules; absent sections are left alone.
Export writes the sections (and extra keys) of the last imported file in their
order, so an export of an import reproduces the file. Pure: no Django, no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from llmcontrol.routing.snapshot import TIERS

SECTIONS = ("phaseOverrides", "defaults", "purposes", "defaultTier")


class DocumentError(ValueError):
    """A routing file that cannot be imported; the message names the key and the reason."""


@dataclass
class RoutingDocument:
    phase_overrides: list[tuple[str, str, str]] | None = None  # (phase, sub_agent, tier)
    defaults: list[tuple[str, str]] | None = None  # (sub_agent, tier)
    purposes: list[tuple[str, str]] | None = None  # (purpose, tier)
    default_tier: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    key_order: list[str] = field(default_factory=list)


def _tier(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise DocumentError(f"{where}: expected a tier name, got {type(value).__name__}")
    if value not in TIERS:
        raise DocumentError(f"{where}: unknown tier {value!r} (expected one of {', '.join(TIERS)})")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DocumentError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _name(value: str, where: str) -> str:
    if not value.strip():
        raise DocumentError(f"{where}: empty name")
    return value


def parse(text: str) -> RoutingDocument:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    data = _object(data, "top level")
    doc = RoutingDocument(key_order=list(data))
    if "phaseOverrides" in data:
        doc.phase_overrides = []
        for phase, agents in _object(data["phaseOverrides"], "phaseOverrides").items():
            where = f"phaseOverrides.{phase}"
            _name(phase, where)
            for agent, tier in _object(agents, where).items():
                _name(agent, f"{where}.{agent}")
                doc.phase_overrides.append((phase, agent, _tier(tier, f"{where}.{agent}")))
    if "defaults" in data:
        doc.defaults = [
            (_name(agent, f"defaults.{agent}"), _tier(tier, f"defaults.{agent}"))
            for agent, tier in _object(data["defaults"], "defaults").items()
        ]
    if "purposes" in data:
        doc.purposes = [
            (_name(purpose, f"purposes.{purpose}"), _tier(tier, f"purposes.{purpose}"))
            for purpose, tier in _object(data["purposes"], "purposes").items()
        ]
    if "defaultTier" in data:
        doc.default_tier = _tier(data["defaultTier"], "defaultTier")
    doc.extras = {k: v for k, v in data.items() if k not in SECTIONS}
    _refuse_duplicates(doc)
    return doc


def _refuse_duplicates(doc: RoutingDocument) -> None:
    # JSON objects cannot repeat a key, but two spellings of one name ("Rca", "RCA")
    # would collide in the case-insensitive matcher: refuse them instead of guessing.
    seen: dict[tuple[str, ...], str] = {}
    rows = [
        ((p.casefold(), a.casefold()), f"phaseOverrides.{p}.{a}")
        for p, a, _ in doc.phase_overrides or []
    ]
    rows += [(("defaults", a.casefold()), f"defaults.{a}") for a, _ in doc.defaults or []]
    rows += [(("purposes", p.casefold()), f"purposes.{p}") for p, _ in doc.purposes or []]
    for key, where in rows:
        if key in seen:
            raise DocumentError(f"{where}: duplicates {seen[key]} (names match case-insensitively)")
        seen[key] = where


def render(doc: RoutingDocument) -> str:
    """The JSON text of a document; sections in `key_order`, then any missing ones."""
    sections: dict[str, Any] = {}
    if doc.phase_overrides is not None:
        phases: dict[str, dict[str, str]] = {}
        for phase, agent, tier in doc.phase_overrides:
            phases.setdefault(phase, {})[agent] = tier
        sections["phaseOverrides"] = phases
    if doc.defaults is not None:
        sections["defaults"] = dict(doc.defaults)
    if doc.purposes is not None:
        sections["purposes"] = dict(doc.purposes)
    if doc.default_tier is not None:
        sections["defaultTier"] = doc.default_tier
    out: dict[str, Any] = {}
    for key in doc.key_order:
        if key in sections:
            out[key] = sections[key]
        elif key in doc.extras:
            out[key] = doc.extras[key]
    for key, value in {**doc.extras, **sections}.items():
        out.setdefault(key, value)
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"
