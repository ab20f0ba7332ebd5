"""Errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.

The OpenAI SDKs raise by status (400 BadRequestError, 401 AuthenticationError,
404 NotFoundError, 429 RateLimitError, 5xx InternalServerError) and read the
body's message, so the status is what matters most and the message says why.
"""

from __future__ import annotations

import json
import math

from django.http import HttpResponse

from llmcontrol.client import LLMCallError
from llmcontrol.providers import ErrorKind

INVALID_REQUEST = "invalid_request_error"


class GatewayError(Exception):
    """Raised anywhere in a gateway request; the view turns it into the response."""

    def __init__(self, status: int, message: str, *, type: str = INVALID_REQUEST,  # noqa: A002
                 param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, dict[str, str | None]]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}

    def response(self) -> HttpResponse:
        return HttpResponse(json.dumps(self.body()), status=self.status,
                            content_type="application/json", headers=self.headers)


def bad_request(message: str, param: str | None = None,
                code: str | None = "invalid_value") -> GatewayError:
    return GatewayError(400, message, param=param, code=code)


# What the last attempt's failure means for the caller. The message always says
# which provider/model pairs were tried (LLMCallError's own message).
UPSTREAM_STATUS = {
    ErrorKind.RATE_LIMITED: (429, "rate_limit_error", "rate_limit_exceeded"),
    ErrorKind.UNAVAILABLE: (503, "server_error", "no_provider_available"),
    ErrorKind.SERVER_ERROR: (503, "server_error", "no_provider_available"),
    ErrorKind.MODEL_NOT_FOUND: (503, "server_error", "no_provider_available"),
    ErrorKind.TIMEOUT: (504, "server_error", "upstream_timeout"),
    ErrorKind.INVALID_RESPONSE: (502, "server_error", "upstream_invalid_response"),
    ErrorKind.AUTH: (502, "server_error", "upstream_auth_failed"),
    ErrorKind.BAD_REQUEST: (400, INVALID_REQUEST, "upstream_rejected_request"),
}


def upstream_error(error: LLMCallError) -> GatewayError:
    status, type_, code = UPSTREAM_STATUS.get(
        error.kind or ErrorKind.UNAVAILABLE, (503, "server_error", "no_provider_available"))
    headers = {}
    if status == 429:
        wait = error.last.retry_after if error.last and error.last.retry_after else 1.0
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return GatewayError(status, str(error), type=type_, code=code, headers=headers)
