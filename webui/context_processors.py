"""Template context shared by every page: what the signed-in user may do, so templates hide the rest."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from appliance.accounts.roles import Role
from webui.access import may, user_role


def role(request: HttpRequest) -> dict[str, object]:
    # Lazy: the login page and static errors never pay for a role lookup they don't show.
    return {
        "can_operate": SimpleLazyObject(lambda: may(request, Role.OPERATOR)),
        "is_admin": SimpleLazyObject(lambda: may(request, Role.ADMIN)),
        "role_label": SimpleLazyObject(lambda: _role_label(request)),
    }


def _role_label(request: HttpRequest) -> str:
    granted = user_role(request)
    return granted.label if granted else "no role"
