"""DRF authentication with `Authorization: Bearer <token>`; the request acts with the token's role."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from appliance.accounts import lockout, tokens
from appliance.accounts.roles import TOKEN_ROLE_ATTR
from appliance.audit import services as audit
from appliance.audit.choices import ActorKind, Outcome


class BearerTokenAuthentication(BaseAuthentication):
    """Bad tokens count against the client address like failed passwords (see `lockout`)."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        address = audit.client_ip(request)
        wait = lockout.retry_after(None, address)
        if wait:
            self._refuse(request, "auth.locked", "too many failed authentications from this address")
            raise Throttled(wait, "Too many failed authentication attempts from this address.")
        try:
            if len(parts) != 2:
                raise tokens.TokenError("malformed Authorization header")
            token = tokens.verify(parts[1].decode("ascii", "replace"))
        except tokens.TokenError as exc:
            lockout.record_failure("", address)
            self._refuse(request, "auth.token_failed", str(exc))
            raise AuthenticationFailed(str(exc)) from None
        setattr(token.user, TOKEN_ROLE_ATTR, token.scope)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'

    @staticmethod
    def _refuse(request: Request, action: str, reason: str) -> None:
        audit.record(
            action,
            request._request,
            outcome=Outcome.FAILURE,
            actor="",
            actor_kind=ActorKind.ANONYMOUS,
            detail={"reason": reason, "path": request.path},
        )
