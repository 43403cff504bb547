"""One audit event per mutation and per authentication or permission decision; never updated."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from appliance.audit.choices import ActorKind, Outcome


class AuditEvent(models.Model):
    """What happened, to which object, by whom, through which request; snapshots are redacted."""

    time = models.DateTimeField(default=timezone.now)
    actor = models.CharField(max_length=150, blank=True, default="")
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    api_token = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Id of the API token the actor used, if any."
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    object_repr = models.CharField(max_length=200, blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True, default="")
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [
            models.Index(fields=["time"], name="auditevent_time"),
            models.Index(fields=["action", "time"], name="auditevent_action_time"),
            models.Index(fields=["object_type", "object_id"], name="auditevent_object"),
            models.Index(fields=["actor", "time"], name="auditevent_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.actor or '-'} {self.action} {self.object_repr}"
