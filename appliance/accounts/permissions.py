"""DRF permissions: reading needs any role, changing configuration needs operator, the rest admin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from appliance.accounts.roles import Role, has_role

if TYPE_CHECKING:  # importing these at run time is circular: DRF loads this class while importing views
    from rest_framework.request import Request
    from rest_framework.views import APIView


class RolePermission(BasePermission):
    """Views may set `required_role` (the role needed to change things); reading needs viewer."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return has_role(request.user, getattr(view, "read_role", Role.VIEWER))
        return has_role(request.user, getattr(view, "required_role", Role.OPERATOR))


class CredentialPermission(RolePermission):
    """Credentials (tokens) change only through a browser session or an admin-scoped token.

    So a token scoped below admin can never mint, widen or revoke credentials: a `viewer` token only reads,
    an `operator` token only changes configuration.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        token_scope = getattr(request.auth, "scope", None)  # an ApiToken's role; None for a session
        if request.method in SAFE_METHODS or token_scope is None or token_scope >= Role.ADMIN:
            return True
        raise PermissionDenied("Only a browser session or an admin-scoped API token can manage API tokens.")
