"""Every check kind, passing and failing, and the messages of bad definitions."""

from __future__ import annotations

import pytest

from benchmarks.checks import CheckError, parse_check

LABELS = {"kind": "label", "labels": ["bug", "feature", "docs"], "expected": "bug"}
SCHEMA = {"type": "object", "required": ["city"], "properties": {"city": {"const": "Lisbon"}}}


@pytest.mark.parametrize(("spec", "answer", "passed", "reason"), [
    (LABELS, "bug", True, ""),
    (LABELS, "  BUG \n", True, ""),
    (LABELS, "feature", False, "labelled feature, expected bug"),
    (LABELS, "Bug.", False, "'Bug.' is not one of bug, feature, docs"),
    (LABELS, "This is a bug", False, "'This is a bug' is not one of bug, feature, docs"),
    ({"kind": "one_of", "values": ["yes", "y"]}, " Y ", True, ""),
    ({"kind": "one_of", "values": ["yes", "y"]}, "no", False, "'no' is not one of yes, y"),
    ({"kind": "json_schema", "schema": SCHEMA}, '{"city": "Lisbon"}', True, ""),
    ({"kind": "json_schema", "schema": SCHEMA}, '{"city": "Porto"}', False,
     "schema: at city: 'Lisbon' was expected"),
    ({"kind": "json_schema", "schema": SCHEMA}, '{}', False,
     "schema: at (root): 'city' is a required property"),
    ({"kind": "json_schema", "schema": SCHEMA}, '```json\n{"city": "Lisbon"}\n```', False,
     "not strict JSON: '```json {\"city\": \"Lisbon\"} ```'"),
    ({"kind": "regex", "pattern": r"^\d+$"}, " 42 ", True, ""),
    ({"kind": "regex", "pattern": r"^\d+$"}, "forty-two", False,
     r"'forty-two' does not match /^\d+$/"),
    ({"kind": "regex", "pattern": "^ok$", "ignore_case": True, "multiline": True},
     "fine\nOK", True, ""),
    ({"kind": "line_count", "lines": 3}, "red\n\nyellow\nblue\n", True, ""),
    ({"kind": "line_count", "lines": 3}, "red, yellow, blue", False,
     "1 non-blank line(s), expected 3"),
    ({"kind": "equals", "value": "42"}, "42\n", True, ""),
    ({"kind": "equals", "value": "OK"}, "ok", False, "'ok' is not 'OK'"),
    ({"kind": "equals", "value": "PUT", "ignore_case": True}, "put", True, ""),
    ({"kind": "contains", "values": ["email", "UNIQUE"]}, "email text unique", True, ""),
    ({"kind": "contains", "values": ["email", "unique"]}, "email text", False,
     "missing 'unique'"),
    ({"kind": "contains", "values": ["Email"], "ignore_case": False}, "email", False,
     "missing 'Email'"),
    ({"kind": "not_contains", "values": ["error"]}, "The page was not found.", True, ""),
    ({"kind": "not_contains", "values": ["error", "```"]}, "An ERROR page", False,
     "contains 'error'"),
    ({"kind": "all", "checks": [{"kind": "line_count", "lines": 1},
                                {"kind": "regex", "pattern": "^.{1,10}$"}]}, "Fix crash", True, ""),
    ({"kind": "all", "checks": [{"kind": "line_count", "lines": 1},
                                {"kind": "regex", "pattern": "^.{1,10}$"}]},
     "Fix the crash on start", False, "'Fix the crash on start' does not match /^.{1,10}$/"),
])
def test_check_verdicts(spec: dict, answer: str, passed: bool, reason: str) -> None:
    verdict = parse_check(spec).evaluate(answer)
    assert (verdict.passed, verdict.reason) == (passed, reason)


def test_long_answers_are_shortened_in_reasons() -> None:
    verdict = parse_check({"kind": "equals", "value": "x"}).evaluate("word " * 40)
    assert verdict.reason == "'" + "word " * 12 + "…' is not 'x'"  # the first 60 characters


@pytest.mark.parametrize(("spec", "message"), [
    ("bug", "a check is an object with a 'kind', got str"),
    ({"kind": "fuzzy"}, "unknown check kind 'fuzzy'; expected one of label, one_of, "
                        "json_schema, regex, line_count, equals, contains, not_contains, all"),
    ({"kind": "label", "labels": ["bug"], "expected": "docs"},
     "label: expected 'docs' is not one of the labels"),
    ({"kind": "label", "labels": [], "expected": "bug"},
     "label: 'labels' must be a non-empty list of strings"),
    ({"kind": "one_of", "values": "yes"}, "one_of: 'values' must be a non-empty list of strings"),
    ({"kind": "json_schema", "schema": {"type": "nonsense"}},
     "json_schema: invalid schema: 'nonsense' is not valid under any of the given schemas"),
    ({"kind": "regex", "pattern": "(unclosed"},
     "regex: bad pattern: missing ), unterminated subpattern at position 0"),
    ({"kind": "regex", "pattern": "a", "ignore_case": "yes"},
     "regex: 'ignore_case' must be true or false"),
    ({"kind": "line_count", "lines": 0}, "line_count: 'lines' must be a positive integer"),
    ({"kind": "line_count", "lines": True}, "line_count: 'lines' must be a positive integer"),
    ({"kind": "equals"}, "equals: 'value' must be a non-empty string"),
    ({"kind": "all", "checks": []}, "all: 'checks' must be a non-empty list of checks"),
    ({"kind": "all", "checks": [{"kind": "nope"}]},
     "unknown check kind 'nope'; expected one of label, one_of, json_schema, regex, "
     "line_count, equals, contains, not_contains, all"),
])
def test_bad_definitions_say_what_is_wrong(spec: object, message: str) -> None:
    with pytest.raises(CheckError) as raised:
        parse_check(spec)
    assert str(raised.value) == message
