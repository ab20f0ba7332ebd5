"""Key scopes. Without a valid key DRF answers 401; with a key lacking the scope, 403."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from llmcontrol.api.keys import Principal
from registry.models import ApiKeyScope


class _HasScope(BasePermission):
    scope: str

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.auth
        return isinstance(principal, Principal) and principal.allows(self.scope)


class HasRouteScope(_HasScope):
    """Any valid key: the default for every endpoint (see REST_FRAMEWORK in settings)."""

    scope = ApiKeyScope.ROUTE
    message = "This endpoint needs an API key."


class HasAdminScope(_HasScope):
    scope = ApiKeyScope.ADMIN
    message = "This API key lacks the admin scope."
