"""Enumerations of the audit log."""

from django.db import models


class ActorKind(models.TextChoices):
    SESSION = "session", "Browser session"
    TOKEN = "token", "API token"
    SYSTEM = "system", "System (worker, command)"
    ANONYMOUS = "anonymous", "Not authenticated"


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"
