"""API token format, issuing and verification.

A token reads `lb_<prefix>_<secret>`: the prefix (10 hex characters) finds the row, the secret (32 random
bytes, URL-safe base64) is checked against a salted SHA-256 with a constant-time comparison. A slow
password hash is not needed: the secret is random, not chosen by a person, so it cannot be guessed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from appliance.accounts.models import ApiToken
from appliance.accounts.roles import Role, account_role

_TOKEN_RE = re.compile(r"lb_([0-9a-f]{10})_([A-Za-z0-9_-]{43})")
# last_used is written at most this often per token, so reads do not turn into writes on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class TokenError(Exception):
    """A presented token is not usable; the message is safe to show the caller."""


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def issue(
    user: AbstractBaseUser, role: Role, name: str, expires: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token for `user` scoped to `role`; returns it with its text, which is never stored."""
    held = account_role(user)
    if held is None or role > held:
        raise ValueError(f"{user.get_username()} holds no {role.label} role; a token cannot exceed it")
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    while True:
        prefix = secrets.token_hex(5)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    token = ApiToken.objects.create(
        user=user,
        name=name,
        role=role.label,
        prefix=prefix,
        salt=salt,
        secret_hash=_digest(salt, secret),
        expires=expires,
    )
    return token, f"lb_{prefix}_{secret}"


def verify(text: str) -> ApiToken:
    """The active token `text` stands for, or TokenError saying why not."""
    match = _TOKEN_RE.fullmatch(text)
    token = ApiToken.objects.select_related("user").filter(prefix=match.group(1)).first() if match else None
    if (
        match is None
        or token is None
        or not hmac.compare_digest(token.secret_hash, _digest(token.salt, match.group(2)))
    ):
        raise TokenError("invalid token")
    if token.revoked_at is not None:
        raise TokenError("token revoked")
    if token.is_expired():
        raise TokenError("token expired")
    if not token.user.is_active:
        raise TokenError("user inactive")
    now = timezone.now()
    if token.last_used is None or token.last_used < now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
    return token


def revoke(token: ApiToken) -> bool:
    """Revoke (idempotent); True if this call revoked it."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return True
