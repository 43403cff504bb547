"""Roles: `admin` (everything, users and tokens included), `operator` (configuration), `viewer` (read-only).

A user's role is the Django group of that name; superusers are admins. One function answers "may this
user do this", for the API permission class and the UI alike. A request authenticated with an API token
acts with the token's role, never more than the user's own (`TOKEN_ROLE_ATTR` on the request's user).
"""

from __future__ import annotations

from enum import IntEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group


class Role(IntEnum):
    """Ordered: each role can do everything the roles below it can."""

    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


ROLE_NAMES = {role.label: role for role in Role}
# Set by the token authentication on the user object of one request: that request's role ceiling.
TOKEN_ROLE_ATTR = "token_role"


def role_of(user: AbstractBaseUser | AnonymousUser) -> Role | None:
    if not user.is_authenticated:
        return None
    own = account_role(user)
    ceiling = getattr(user, TOKEN_ROLE_ATTR, None)
    if own is None or ceiling is None:
        return own
    return min(own, ceiling)


def account_role(user: AbstractBaseUser) -> Role | None:
    """The role the account holds, whatever credential the current request used."""
    if not user.is_active:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    groups = {group.name for group in user.groups.all()}  # type: ignore[attr-defined]
    granted = [role for name, role in ROLE_NAMES.items() if name in groups]
    return max(granted) if granted else None


def has_role(user: AbstractBaseUser | AnonymousUser, needed: Role) -> bool:
    role = role_of(user)
    return role is not None and role >= needed


def set_role(user: AbstractBaseUser, role: Role) -> None:
    """Give `user` exactly one role."""
    groups = [Group.objects.get_or_create(name=name)[0] for name in ROLE_NAMES]
    user.groups.remove(*groups)  # type: ignore[attr-defined]
    user.groups.add(Group.objects.get(name=role.label))  # type: ignore[attr-defined]
