"""API errors that carry a machine-readable code next to DRF's `detail`."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException


class CodedError(APIException):
    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message, code)
        # Set directly: APIException would turn every value into a string.
        self.detail: Any = {"detail": message, "code": code or self.default_code}


class Conflict(CodedError):
    """A rollout action refused (`refused`) or acting on a stale view (`stale`)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "refused"


class Unroutable(CodedError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "no_route"


class Misconfigured(CodedError):
    """The server cannot answer now (a bad switch, the database away): 503."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "misconfigured"


class BatchRejected(APIException):
    """A metric batch with a bad record: 400 naming the first bad record; nothing stored."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, errors: Any) -> None:
        super().__init__()
        index, path, message = first_error(errors)
        where = f"record {index} is invalid" if index is not None else "the batch is invalid"
        field = f"{path}: " if path else ""
        self.detail: Any = {
            "detail": f"{where} ({field}{message}); nothing from this batch was stored",
            "index": index,
            "errors": errors["records"][index] if index is not None else errors,
        }


def first_error(errors: Any) -> tuple[int | None, str, str]:
    """(record index or None, field path, message) of the first error in DRF's error tree.

    DRF reports a list's errors keyed by the index of each bad item.
    """
    records = errors.get("records") if isinstance(errors, dict) else None
    if isinstance(records, dict) and records and all(isinstance(i, int) for i in records):
        index = min(records)
        path, message = _first(records[index])
        return index, path, message
    path, message = _first(errors)
    return None, path, message


def _first(errors: Any, path: str = "") -> tuple[str, str]:
    if isinstance(errors, dict) and errors:
        key, value = next(iter(errors.items()))
        sub = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
        return _first(value, sub)
    if isinstance(errors, list) and errors:
        return _first(next((e for e in errors if e), errors[0]), path)
    return path, str(errors)
