"""Password authentication with the sign-in lockout in front of it (browser login and any other caller)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from appliance.accounts import lockout
from appliance.audit.services import client_ip

# Set on the request when the lockout refused it, so the sign-in receivers record why.
LOCKED_ATTR = "lockout_retry_after"


class LockoutModelBackend(ModelBackend):
    """Django's username/password check, refused while the account or the client address is locked.

    Raising PermissionDenied stops `authenticate()` from trying other backends and makes it send
    `user_login_failed`, so a refusal is audited like any failure (see `receivers`).
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None or password is None:
            return None
        attempt = lockout.claim_attempt(username, client_ip(request))
        if isinstance(attempt, int):
            if request is not None:
                setattr(request, LOCKED_ATTR, attempt)
            raise PermissionDenied(f"too many failed sign-ins; try again in {attempt} s")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            lockout.forgive(attempt)
        return user
