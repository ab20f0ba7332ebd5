"""Two bad bodies DRF would answer as server errors, answered as the client's errors:
JSON nested too deeply for Python's decoder (a RecursionError: 500) and a body over
DATA_UPLOAD_MAX_MEMORY_SIZE (Django's HTML 400 with a logged traceback)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import parsers, status, views
from rest_framework.exceptions import APIException, ParseError
from rest_framework.response import Response


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:  # the decoder recurses once per level of [ or {
            raise ParseError("JSON parse error - the body is nested too deeply") from None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler; a body too large (raised when DRF reads it) becomes a JSON 413."""
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(f"The request body is larger than this API accepts "
                              f"({settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes).")
    return views.exception_handler(exc, context)
