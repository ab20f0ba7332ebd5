"""`Authorization: Bearer <API key>` for the REST API. Answers 401, never 403, for a bad key."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from llmcontrol.api.errors import Misconfigured
from llmcontrol.api.keys import KeysUnavailable, Principal, bearer_token, key_cache


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Principal, Principal] | None:
        header = get_authorization_header(request).decode("latin-1")
        if not header:
            return None  # DRF answers 401 "credentials were not provided"
        token = bearer_token(header)
        if token is None:
            raise AuthenticationFailed("Use the header `Authorization: Bearer <API key>`.")
        try:
            principal = key_cache.authenticate(token)
        except KeysUnavailable as exc:
            raise Misconfigured(str(exc), code="keys_unavailable") from None
        if principal is None:
            raise AuthenticationFailed("Invalid or revoked API key.")
        return principal, principal

    def authenticate_header(self, request: Request) -> str:
        # Present, so that DRF answers 401 (with this challenge) rather than 403.
        return 'Bearer realm="llmcontrol"'


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "llmcontrol.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "lc_<prefix>_<secret>",
                "description": "An API key from `manage.py create_api_key` or the admin."}
