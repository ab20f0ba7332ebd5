"""Declarative checks: how a benchmark case decides whether an answer passes.

A check is data (a dict, as stored in a suite file or edited in the admin),
parsed once into an object with `evaluate(answer) -> Verdict`. Plain Python, no
Django: the runner core and its tests use it directly.

Kinds (every comparison runs on the answer with surrounding whitespace trimmed):

    {"kind": "label", "labels": ["bug", "feature"], "expected": "bug"}
        the answer is exactly one label of the set (case-insensitive) and the expected one
    {"kind": "one_of", "values": ["yes", "y"]}      any of these answers (case-insensitive)
    {"kind": "json_schema", "schema": {...}}         strict JSON that validates against the schema
    {"kind": "regex", "pattern": "^\\d+$", "ignore_case": false, "multiline": false}
    {"kind": "line_count", "lines": 3}               exactly this many non-blank lines
    {"kind": "equals", "value": "42", "ignore_case": false}
    {"kind": "contains", "values": ["a", "b"], "ignore_case": true}     all of them present
    {"kind": "not_contains", "values": ["<think>"], "ignore_case": true} none of them present
    {"kind": "all", "checks": [{...}, {...}]}        every sub-check passes
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jsonschema import validators

from llmcontrol.providers.quality import parse_json, schema_problem

KINDS = ("label", "one_of", "json_schema", "regex", "line_count", "equals", "contains",
         "not_contains", "all")
MAX_SHOWN = 60  # characters of an answer quoted in a failure reason


class CheckError(ValueError):
    """A check definition that cannot be used; the message says which field and why."""


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str  # why it failed; "" when it passed


PASS = Verdict(True, "")


class Check:
    kind: str

    def evaluate(self, answer: str) -> Verdict:
        raise NotImplementedError


def shown(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…")


@dataclass(frozen=True)
class Label(Check):
    labels: tuple[str, ...]
    expected: str
    kind = "label"

    def evaluate(self, answer: str) -> Verdict:
        given = answer.strip().casefold()
        if given not in {label.casefold() for label in self.labels}:
            return Verdict(False, f"{shown(answer)} is not one of {', '.join(self.labels)}")
        if given != self.expected.casefold():
            return Verdict(False, f"labelled {given}, expected {self.expected}")
        return PASS


@dataclass(frozen=True)
class OneOf(Check):
    values: tuple[str, ...]
    kind = "one_of"

    def evaluate(self, answer: str) -> Verdict:
        if answer.strip().casefold() in {v.casefold() for v in self.values}:
            return PASS
        return Verdict(False, f"{shown(answer)} is not one of {', '.join(self.values)}")


@dataclass(frozen=True)
class JsonSchema(Check):
    schema: dict[str, Any]
    kind = "json_schema"

    def evaluate(self, answer: str) -> Verdict:
        ok, value = parse_json(answer)
        if not ok:
            return Verdict(False, f"not strict JSON: {shown(answer)}")
        validator = validators.validator_for(self.schema)(self.schema)
        error = next(iter(sorted(validator.iter_errors(value), key=lambda e: list(e.path))), None)
        if error is None:
            return PASS
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return Verdict(False, f"schema: at {where}: {error.message}")


@dataclass(frozen=True)
class Regex(Check):
    pattern: re.Pattern[str]
    kind = "regex"

    def evaluate(self, answer: str) -> Verdict:
        if self.pattern.search(answer.strip()):
            return PASS
        return Verdict(False, f"{shown(answer)} does not match /{self.pattern.pattern}/")


@dataclass(frozen=True)
class LineCount(Check):
    lines: int
    kind = "line_count"

    def evaluate(self, answer: str) -> Verdict:
        count = sum(1 for line in answer.strip().splitlines() if line.strip())
        if count == self.lines:
            return PASS
        return Verdict(False, f"{count} non-blank line(s), expected {self.lines}")


@dataclass(frozen=True)
class Equals(Check):
    value: str
    ignore_case: bool = False
    kind = "equals"

    def evaluate(self, answer: str) -> Verdict:
        given, wanted = answer.strip(), self.value.strip()
        if self.ignore_case:
            given, wanted = given.casefold(), wanted.casefold()
        if given == wanted:
            return PASS
        return Verdict(False, f"{shown(answer)} is not {self.value!r}")


@dataclass(frozen=True)
class Contains(Check):
    values: tuple[str, ...]
    ignore_case: bool = True
    negate: bool = False

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "not_contains" if self.negate else "contains"

    def evaluate(self, answer: str) -> Verdict:
        text = answer.casefold() if self.ignore_case else answer
        found = [v for v in self.values if (v.casefold() if self.ignore_case else v) in text]
        if self.negate and found:
            return Verdict(False, f"contains {', '.join(map(repr, found))}")
        missing = [v for v in self.values if v not in found]
        if not self.negate and missing:
            return Verdict(False, f"missing {', '.join(map(repr, missing))}")
        return PASS


@dataclass(frozen=True)
class All(Check):
    checks: tuple[Check, ...]
    kind = "all"

    def evaluate(self, answer: str) -> Verdict:
        for check in self.checks:
            verdict = check.evaluate(answer)
            if not verdict.passed:
                return verdict
        return PASS


# Parsing: strict, with messages that name the field, because people edit these by hand.

def parse_check(spec: Any) -> Check:
    if not isinstance(spec, dict):
        raise CheckError(f"a check is an object with a 'kind', got {type(spec).__name__}")
    kind = spec.get("kind")
    parser = PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise CheckError(f"unknown check kind {kind!r}; expected one of {', '.join(KINDS)}")
    return parser(spec)


def _text(spec: dict[str, Any], name: str) -> str:
    value = spec.get(name)
    if not isinstance(value, str) or not value.strip():
        raise CheckError(f"{spec['kind']}: '{name}' must be a non-empty string")
    return value


def _texts(spec: dict[str, Any], name: str) -> tuple[str, ...]:
    value = spec.get(name)
    if not isinstance(value, list) or not value \
            or not all(isinstance(v, str) and v.strip() for v in value):
        raise CheckError(f"{spec['kind']}: '{name}' must be a non-empty list of strings")
    return tuple(value)


def _flag(spec: dict[str, Any], name: str, default: bool) -> bool:
    value = spec.get(name, default)
    if not isinstance(value, bool):
        raise CheckError(f"{spec['kind']}: '{name}' must be true or false")
    return value


def _label(spec: dict[str, Any]) -> Check:
    labels, expected = _texts(spec, "labels"), _text(spec, "expected")
    if expected.strip().casefold() not in {label.casefold() for label in labels}:
        raise CheckError(f"label: expected {expected!r} is not one of the labels")
    return Label(labels, expected.strip())


def _json_schema(spec: dict[str, Any]) -> Check:
    schema = spec.get("schema")
    if (problem := schema_problem(schema)) is not None:
        raise CheckError(f"json_schema: invalid schema: {problem}")
    return JsonSchema(schema)


def _regex(spec: dict[str, Any]) -> Check:
    flags = (re.IGNORECASE if _flag(spec, "ignore_case", False) else 0) \
        | (re.MULTILINE if _flag(spec, "multiline", False) else 0)
    try:
        return Regex(re.compile(_text(spec, "pattern"), flags))
    except re.error as error:
        raise CheckError(f"regex: bad pattern: {error}") from None


def _line_count(spec: dict[str, Any]) -> Check:
    lines = spec.get("lines")
    if not isinstance(lines, int) or isinstance(lines, bool) or lines < 1:
        raise CheckError("line_count: 'lines' must be a positive integer")
    return LineCount(lines)


def _all(spec: dict[str, Any]) -> Check:
    checks = spec.get("checks")
    if not isinstance(checks, list) or not checks:
        raise CheckError("all: 'checks' must be a non-empty list of checks")
    return All(tuple(parse_check(c) for c in checks))


PARSERS: dict[str, Callable[[dict[str, Any]], Check]] = {
    "label": _label,
    "one_of": lambda s: OneOf(_texts(s, "values")),
    "json_schema": _json_schema,
    "regex": _regex,
    "line_count": _line_count,
    "equals": lambda s: Equals(_text(s, "value"), _flag(s, "ignore_case", False)),
    "contains": lambda s: Contains(_texts(s, "values"), _flag(s, "ignore_case", True)),
    "not_contains": lambda s: Contains(_texts(s, "values"), _flag(s, "ignore_case", True),
                                       negate=True),
    "all": _all,
}
