"""Who may do what in the browser UI: the same roles as the API (`appliance.accounts.roles`).

Reading needs the viewer role, every change the operator role; a signed-in user without the role gets a
403, an anonymous one the login page. The role is looked up once per request and shared with templates.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from appliance.accounts.roles import Role, role_of

View = Callable[..., HttpResponse]


def user_role(request: HttpRequest) -> Role | None:
    """The user's role, looked up once per request (one query) however often pages ask."""
    if not hasattr(request, "lb_role"):
        request.lb_role = role_of(request.user)
    return request.lb_role


def may(request: HttpRequest, role: Role) -> bool:
    """`has_role` for this request's user, answered from the role cached on the request."""
    granted = user_role(request)
    return granted is not None and granted >= role


def role_required(role: Role) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not may(request, role):
                raise PermissionDenied(f"this needs the {role.label} role")
            return view(request, *args, **kwargs)

        return guarded

    return decorator


viewer_required = role_required(Role.VIEWER)
operator_required = role_required(Role.OPERATOR)
admin_required = role_required(Role.ADMIN)
