"""API tokens (stored as a salted hash, shown once) and failed sign-in attempts (for the lockout)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from appliance.accounts.roles import Role

ROLE_CHOICES = [(role.label, role.label) for role in Role]


class ApiToken(models.Model):
    """A long-lived credential for automation, scoped to a role no higher than its user's.

    Only `prefix` (to find the row) and a salted SHA-256 of the random secret are stored; the token text
    itself is shown once, when it is created.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    salt = models.CharField(max_length=32, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def scope(self) -> Role:
        return Role[self.role.upper()]

    def is_expired(self) -> bool:
        return self.expires is not None and self.expires <= timezone.now()


class LoginFailure(models.Model):
    """One failed (or not yet verified) sign-in attempt; `username` is empty for a bad API token.

    Rows live in PostgreSQL so that every gunicorn worker counts the same attempts; rows older than the
    lockout window are pruned as new ones arrive.
    """

    time = models.DateTimeField(default=timezone.now)
    username = models.CharField(max_length=150, blank=True, default="")
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["username", "time"], name="loginfailure_user_time"),
            models.Index(fields=["client_ip", "time"], name="loginfailure_ip_time"),
        ]
