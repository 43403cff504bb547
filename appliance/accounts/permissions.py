"""DRF permission: reading needs any role, changing configuration needs operator, the rest admin."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
