"""Business rules of accounts: issuing and revoking API tokens, managing users; every change audited.

`request` is the HTTP request (Django or DRF) acting, or None for a management command; it only feeds
the audit event (actor, request id, client address).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from appliance.accounts import tokens
from appliance.accounts.models import ApiToken
from appliance.accounts.roles import Role, account_role, set_role
from appliance.audit import services as audit


def token_snapshot(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "user": token.user.get_username(),
        "name": token.name,
        "role": token.role,
        "prefix": token.prefix,
        "expires": token.expires,
        "revoked_at": token.revoked_at,
    }


def user_snapshot(user: AbstractBaseUser) -> dict[str, Any]:
    role = account_role(user)
    return {
        "id": user.pk,
        "username": user.get_username(),
        "email": getattr(user, "email", ""),
        "role": role.label if role else None,
        "is_active": user.is_active,
    }


def issue_token(
    request: Any, user: AbstractBaseUser, role: Role, name: str, expires: datetime | None = None
) -> tuple[ApiToken, str]:
    with transaction.atomic():
        token, text = tokens.issue(user, role, name, expires)
        audit.record("create", request, obj=token, after=token_snapshot(token))
    return token, text


def revoke_token(request: Any, token: ApiToken) -> ApiToken:
    with transaction.atomic():
        before = token_snapshot(token)
        if tokens.revoke(token):
            audit.record("revoke", request, obj=token, before=before, after=token_snapshot(token))
    return token


def create_user(request: Any, username: str, password: str, role: Role, email: str = "") -> AbstractBaseUser:
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, email=email, password=password)
        set_role(user, role)
        audit.record("create", request, obj=user, after=user_snapshot(user))
    return user


def update_user(
    request: Any,
    user: AbstractBaseUser,
    role: Role | None = None,
    is_active: bool | None = None,
    password: str | None = None,
    email: str | None = None,
) -> AbstractBaseUser:
    """Change role, activity, password or e-mail; deactivating a user revokes all their tokens."""
    with transaction.atomic():
        before = user_snapshot(user)
        if role is not None:
            # A superuser is an admin whatever its groups say, so a lower role must take that away.
            if role < Role.ADMIN:
                user.is_superuser = False  # type: ignore[attr-defined]
            set_role(user, role)
        if is_active is not None:
            user.is_active = is_active
        if password is not None:
            user.set_password(password)
        if email is not None:
            user.email = email  # type: ignore[attr-defined]
        user.save()
        if is_active is False:
            for token in ApiToken.objects.filter(user=user, revoked_at__isnull=True):
                revoke_token(request, token)
        detail = {"changed": ["password"]} if password is not None else {}
        audit.record("update", request, obj=user, before=before, after=user_snapshot(user), detail=detail)
    return user
