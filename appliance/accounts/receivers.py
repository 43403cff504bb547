"""Sign-in, sign-out and failed sign-in (Django's auth signals) go to the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from appliance.accounts.backends import LOCKED_ATTR
from appliance.audit import services as audit
from appliance.audit.choices import ActorKind, Outcome


@receiver(user_logged_in, dispatch_uid="audit-login")
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit.record("auth.login", request, obj=user, actor=user.get_username(), actor_kind=ActorKind.SESSION)


@receiver(user_logged_out, dispatch_uid="audit-logout")
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit.record(
            "auth.logout", request, obj=user, actor=user.get_username(), actor_kind=ActorKind.SESSION
        )


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def audit_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    """`credentials` arrive with the password already masked by Django; only the user name is kept."""
    username = str(credentials.get("username", ""))
    retry_after = getattr(request, LOCKED_ATTR, None)
    locked = retry_after is not None
    audit.record(
        "auth.login_locked" if locked else "auth.login_failed",
        request,
        actor=username,
        actor_kind=ActorKind.ANONYMOUS,
        outcome=Outcome.DENIED if locked else Outcome.FAILURE,
        detail={"retry_after_s": retry_after} if locked else {},
    )
