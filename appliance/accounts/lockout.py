"""Sign-in lockout: after N failures per account or per client address within a window, refuse attempts.

Counters are rows in PostgreSQL (`LoginFailure`), shared by every gunicorn worker. A password attempt is
counted *before* it is checked (`claim_attempt`) under an advisory lock per account and per address, and
forgiven if it succeeds: so parallel guesses cannot overtake the limit while passwords are being hashed.
The window slides: an account or address is refused while it has N failures in the last `window` seconds.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from appliance.accounts.models import LoginFailure

_LOCK_NAMESPACE = 0x4C42_0A00  # pg advisory lock keys (namespace, crc32 of the counter key)


@dataclass(frozen=True)
class Policy:
    max_failures: int
    window: timedelta


def policy() -> Policy:
    conf = settings.LB_LOGIN_LOCKOUT
    return Policy(int(conf["max_failures"]), timedelta(seconds=int(conf["window_s"])))


def normalize(username: str) -> str:
    return username.strip().lower()[:150]


def retry_after(username: str | None, client_ip: str | None) -> int:
    """Seconds until the account or the address may try again; 0 when neither is locked."""
    rule, now = policy(), timezone.now()
    waits = [0.0]
    scopes: list[dict[str, str]] = []
    if username:
        scopes.append({"username": normalize(username)})
    if client_ip:
        scopes.append({"client_ip": client_ip})
    for scope in scopes:
        nth_newest = (
            LoginFailure.objects.filter(time__gt=now - rule.window, **scope)
            .order_by("-time")
            .values_list("time", flat=True)[rule.max_failures - 1 : rule.max_failures]
        )
        for failed_at in nth_newest:
            waits.append((failed_at + rule.window - now).total_seconds())
    wait = max(waits)
    return max(1, math.ceil(wait)) if wait > 0 else 0


def claim_attempt(username: str, client_ip: str | None) -> LoginFailure | int:
    """Count a password attempt as failed until proven otherwise; or the seconds to wait if locked."""
    keys = sorted({f"user:{normalize(username)}", f"ip:{client_ip}"})
    with transaction.atomic(), connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, _lock_key(key)])
        wait = retry_after(username, client_ip)
        if wait:
            return wait
        prune()
        return LoginFailure.objects.create(username=normalize(username), client_ip=client_ip)


def forgive(attempt: LoginFailure) -> None:
    """A correct password: drop this attempt and the account's earlier failures."""
    LoginFailure.objects.filter(username=attempt.username).delete()


def record_failure(username: str, client_ip: str | None) -> None:
    """A failure that was not claimed beforehand (a bad API token: `username` is empty)."""
    LoginFailure.objects.create(username=normalize(username), client_ip=client_ip)
    prune()


def prune() -> None:
    LoginFailure.objects.filter(time__lt=timezone.now() - policy().window).delete()


def _lock_key(key: str) -> int:
    # Two int4 keys; crc32 fits in a signed int4 after the shift below.
    return zlib.crc32(key.encode()) - 2**31
