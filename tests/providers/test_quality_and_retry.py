"""JSON verdicts, Retry-After parsing, backoff arithmetic and the error type itself."""

from __future__ import annotations

import pickle
from email.utils import formatdate

import pytest

from llmcontrol.providers import RETRYABLE, ErrorKind, ProviderConfig, ProviderError
from llmcontrol.providers.errors import kind_for_status, parse_retry_after
from llmcontrol.providers.quality import json_valid, schema_problem
from llmcontrol.providers.retry import RetryPolicy, delay_before_retry

NOW = 1_700_000_000.0


@pytest.mark.parametrize(("text", "valid"), [
    ('{"a": [1, 2]}', True), ("[]", True), ('"just a string"', True), ("null", True),
    ("```json\n{}\n```", False), ("{} trailing", False), ("{'a': 1}", False),
    ("Infinity", False), ("", False),
])
def test_json_valid_is_strict(text: str, valid: bool) -> None:
    assert json_valid(text) is valid


def test_json_valid_against_a_schema() -> None:
    schema = {"type": "array", "items": {"type": "integer"}, "maxItems": 2}

    assert json_valid("[1, 2]", schema) is True
    assert json_valid("[1, 2, 3]", schema) is False
    assert json_valid('["1"]', schema) is False


def test_schema_problems_are_reported() -> None:
    assert schema_problem({"type": "object"}) is None
    assert schema_problem({"type": 12}) is not None
    assert schema_problem(["not", "a", "schema"]) == "expected an object, got list"


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"retry-after": "3"}, 3.0),
    ({"retry-after": "0.5"}, 0.5),
    ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
    ({"retry-after": formatdate(NOW + 30, usegmt=True)}, 30.0),
    ({"retry-after": formatdate(NOW - 30, usegmt=True)}, 0.0),  # a date in the past: now
    ({"retry-after": "soon"}, None),
    ({}, None),
])
def test_parse_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == seconds


@pytest.mark.parametrize(("status", "kind"), [
    (400, ErrorKind.BAD_REQUEST), (401, ErrorKind.AUTH), (403, ErrorKind.AUTH),
    (404, ErrorKind.MODEL_NOT_FOUND), (408, ErrorKind.TIMEOUT), (422, ErrorKind.BAD_REQUEST),
    (429, ErrorKind.RATE_LIMITED), (500, ErrorKind.SERVER_ERROR),
    (503, ErrorKind.SERVER_ERROR), (529, ErrorKind.SERVER_ERROR),
    (302, ErrorKind.INVALID_RESPONSE),
])
def test_kind_for_status(status: int, kind: ErrorKind) -> None:
    assert kind_for_status(status) == kind


def error(kind: ErrorKind, retry_after: float | None = None,
          partial: bool = False) -> ProviderError:
    return ProviderError(kind, "x", provider="p", model="m", retry_after=retry_after,
                         partial=partial)


POLICY = RetryPolicy(max_retries=5, backoff_s=0.5)


def test_backoff_is_exponential_full_jitter_and_capped() -> None:
    ceilings = [delay_before_retry(error(ErrorKind.TIMEOUT), n, POLICY, lambda: 1.0)
                for n in range(1, 6)]
    halves = [delay_before_retry(error(ErrorKind.TIMEOUT), n, POLICY, lambda: 0.5)
              for n in range(1, 4)]

    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert halves == [0.25, 0.5, 1.0]
    assert delay_before_retry(error(ErrorKind.TIMEOUT), 1, RetryPolicy(9, 10.0),
                              lambda: 1.0) == 8.0  # never above max_backoff_s


def test_retry_after_wins_over_backoff_up_to_the_cap() -> None:
    assert delay_before_retry(error(ErrorKind.RATE_LIMITED, 12.0), 1, POLICY, lambda: 1.0) == 12.0
    assert delay_before_retry(error(ErrorKind.RATE_LIMITED, 30.0), 1, POLICY, lambda: 1.0) == 30.0
    assert delay_before_retry(error(ErrorKind.RATE_LIMITED, 30.5), 1, POLICY, lambda: 1.0) is None


@pytest.mark.parametrize("kind", sorted(set(ErrorKind) - RETRYABLE))
def test_terminal_kinds_are_never_retried(kind: ErrorKind) -> None:
    assert delay_before_retry(error(kind), 1, POLICY, lambda: 1.0) is None


def test_partial_streams_and_spent_budgets_are_not_retried() -> None:
    assert delay_before_retry(error(ErrorKind.SERVER_ERROR, partial=True), 1, POLICY,
                              lambda: 1.0) is None
    assert delay_before_retry(error(ErrorKind.SERVER_ERROR), 6, POLICY, lambda: 1.0) is None


def test_retryable_kinds() -> None:
    expected = {ErrorKind.UNAVAILABLE, ErrorKind.TIMEOUT, ErrorKind.RATE_LIMITED,
                ErrorKind.SERVER_ERROR}
    assert expected == RETRYABLE


def test_provider_error_reads_in_one_line_and_survives_pickling() -> None:
    original = ProviderError(ErrorKind.RATE_LIMITED, "too many\nrequests", provider="openai",
                             model="gpt-4o-mini", status_code=429, retry_after=2.0)

    copy = pickle.loads(pickle.dumps(original))

    assert str(original) == ("openai/gpt-4o-mini: rate_limited: too many requests (HTTP 429) "
                             "(retry after 2s)")
    assert (copy.kind, copy.provider, copy.status_code, copy.retry_after, str(copy)) == (
        original.kind, "openai", 429, 2.0, str(original))


def test_config_repr_hides_the_api_key() -> None:
    config = ProviderConfig(key="openai", kind="openai", base_url="https://x", api_key="sk-123",
                            timeout_s=5.0)

    assert "sk-123" not in repr(config)
    assert "api_key" not in repr(config)
