"""Health-check settings (per upstream, overridable per server), per-server health state, history, alerts.

`HealthState` is the state machine of one server (unknown → healthy/unhealthy by `rise`/`fall` consecutive
results) plus the scheduling columns the workers claim it with. Every change of status writes exactly one
`HealthTransition` in the same transaction, numbered per server (`seq`, unique), so a retried or duplicated
cycle can never record a transition twice.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from appliance.health import validation
from appliance.health import validators as v
from appliance.health.choices import AlertKind, BodyMatch, CheckType, HealthStatus, HttpMethod, Reason
from appliance.lb.models import Server, Upstream


class HealthCheck(models.Model):
    """How to probe servers: set on an upstream for all its servers, or on one server to override it.

    A server's own check replaces the upstream's check entirely (no field-by-field merge), so what is
    shown is exactly what runs. No check (or a disabled one) = the server is not health-managed.
    """

    upstream = models.OneToOneField(
        Upstream, null=True, blank=True, on_delete=models.CASCADE, related_name="health_check"
    )
    server = models.OneToOneField(
        Server, null=True, blank=True, on_delete=models.CASCADE, related_name="health_check"
    )
    enabled = models.BooleanField(default=True)
    type = models.CharField(max_length=8, choices=CheckType.choices, default=CheckType.HTTP)
    port = models.PositiveIntegerField(
        null=True, blank=True, validators=v.bounds("port"), help_text="Empty = the server's own port."
    )
    method = models.CharField(max_length=8, choices=HttpMethod.choices, default=HttpMethod.GET)
    path = models.CharField(max_length=300, default="/", validators=[v.validate_check_path])
    expected_statuses = models.CharField(
        max_length=64,
        default="200-399",
        validators=[v.validate_status_set],
        help_text="Codes and ranges separated by commas, e.g. 200-399 or 200,204.",
    )
    body_match = models.CharField(max_length=16, choices=BodyMatch.choices, blank=True, default="")
    body_pattern = models.CharField(
        max_length=validation.BODY_PATTERN_MAX_LEN,
        blank=True,
        default="",
        help_text="Text the body must contain, or an RE2 regular expression it must match.",
    )
    headers = models.JSONField(default=dict, blank=True, validators=[v.validate_headers])
    tls_verify = models.BooleanField(default=False, help_text="Verify the backend's certificate (https).")
    timeout_ms = models.PositiveIntegerField(default=1000, validators=v.bounds("timeout_ms"))
    interval_s = models.PositiveIntegerField(default=2, validators=v.bounds("interval_s"))
    rise = models.PositiveIntegerField(default=2, validators=v.bounds("rise"))
    fall = models.PositiveIntegerField(default=3, validators=v.bounds("fall"))
    slow_start_s = models.PositiveIntegerField(
        default=0, validators=v.bounds("slow_start_s"), help_text="Weight ramp after recovery; 0 = off."
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(upstream__isnull=False, server__isnull=True)
                | Q(upstream__isnull=True, server__isnull=False),
                name="health_check_on_upstream_or_server",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} check of {self.server or self.upstream}"

    def clean(self) -> None:
        """Cross-field rules; field-level messages so the API and UI can show them next to the field."""
        if (self.upstream_id is None) == (self.server_id is None):
            raise ValidationError({"upstream": "set either an upstream or a server, not both"})
        if self.timeout_ms >= self.interval_s * 1000:
            raise ValidationError({"timeout_ms": "the timeout must be shorter than the interval"})
        if self.type == CheckType.TCP:
            if self.body_match or self.headers:
                raise ValidationError({"type": "a TCP check sends no request: remove headers and body match"})
            return
        if self.body_match and self.method == HttpMethod.HEAD:
            raise ValidationError({"body_match": "HEAD responses have no body; use GET"})
        if bool(self.body_match) != bool(self.body_pattern):
            raise ValidationError({"body_pattern": "give a body pattern exactly when a body match is chosen"})
        try:
            if self.body_match == BodyMatch.REGEX:
                validation.compile_body_regex(self.body_pattern)
            elif self.body_match == BodyMatch.SUBSTRING:
                validation.validate_body_substring(self.body_pattern)
        except ValueError as exc:
            raise ValidationError({"body_pattern": str(exc)}) from None


class HealthState(models.Model):
    """The health of one server: status, consecutive results, the last result, scheduling and ramp."""

    server = models.OneToOneField(Server, primary_key=True, on_delete=models.CASCADE, related_name="health")
    status = models.CharField(max_length=16, choices=HealthStatus.choices, default=HealthStatus.UNKNOWN)
    consecutive_successes = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=24, choices=Reason.choices, blank=True, default="")
    last_detail = models.CharField(max_length=300, blank=True, default="")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    transition_count = models.PositiveIntegerField(default=0)
    # Scheduling: NULL = not health-managed. A worker owns the row while claimed_until is in the future
    # and only writes its result if claim_token is still its own.
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    # Slow start: 0 = full weight; 1..RAMP_STEPS-1 = the step of the weight ramp after a recovery.
    ramp_step = models.PositiveSmallIntegerField(default=0)
    ramp_period_s = models.FloatField(default=0)
    next_ramp_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["server_id"]

    def __str__(self) -> str:
        return f"{self.server_id}: {self.status}"


class HealthTransition(models.Model):
    """One change of a server's health status, with the result that caused it."""

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="health_transitions")
    seq = models.PositiveIntegerField(help_text="1, 2, 3... per server; unique, so never recorded twice.")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    from_status = models.CharField(max_length=16, choices=HealthStatus.choices)
    to_status = models.CharField(max_length=16, choices=HealthStatus.choices)
    reason = models.CharField(max_length=24, choices=Reason.choices)
    detail = models.CharField(max_length=300, blank=True, default="")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [models.UniqueConstraint(fields=["server", "seq"], name="one_transition_per_seq")]

    def __str__(self) -> str:
        return f"{self.server_id}: {self.from_status} → {self.to_status} ({self.reason})"


class HealthAlert(models.Model):
    """A condition an operator must see, e.g. an upstream failing open; open while `cleared_at` is empty."""

    upstream = models.ForeignKey(Upstream, on_delete=models.CASCADE, related_name="health_alerts")
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    message = models.CharField(max_length=500)
    raised_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["upstream", "kind"],
                condition=Q(cleared_at__isnull=True),
                name="one_open_alert_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.upstream_id}"
