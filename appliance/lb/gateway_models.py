"""Gateway policies: sticky sessions of an upstream, and rate/connection limits of sites and routes.

Imported by `appliance.lb.models`, which is where Django finds them.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models

from appliance.lb import validators as v
from appliance.lb.choices import LimitKey, RateUnit, SameSite, StickyKind

PER_NODE = "Counted by each data-plane node on its own: with N nodes, a client can get up to N times this."


class StickyPolicy(models.Model):
    """Session affinity of one upstream: an issued cookie, the client IP, or a request header."""

    upstream = models.OneToOneField("lb.Upstream", on_delete=models.CASCADE, related_name="sticky")
    kind = models.CharField(max_length=16, choices=StickyKind.choices, default=StickyKind.COOKIE)
    cookie_name = models.CharField(max_length=64, default="lb_sticky")
    cookie_ttl_s = models.PositiveIntegerField(
        default=0, validators=v.bounds("cookie_ttl_s"), help_text="Max-Age; 0 = a session cookie."
    )
    cookie_path = models.CharField(max_length=256, default="/")
    cookie_secure = models.BooleanField(default=False)
    cookie_http_only = models.BooleanField(default=True)
    cookie_same_site = models.CharField(max_length=8, choices=SameSite.choices, default=SameSite.LAX)
    header_name = models.CharField(max_length=64, blank=True, default="", help_text="For kind = header.")

    class Meta:
        ordering = ["upstream__name"]

    def __str__(self) -> str:
        return f"{self.kind} affinity of {self.upstream}"

    def clean(self) -> None:
        from appliance.lb.gateway_specs import sticky_errors

        errors = sticky_errors(self)
        if errors:
            raise ValidationError(errors)


class RateLimitPolicy(models.Model):
    """A request-rate and/or connection limit, attachable to virtual servers and routes.

    Every attachment counts on its own (a site-wide limit counts all of a site's requests; a route's
    counts that route's), and each data-plane node counts on its own.
    """

    name = models.CharField(max_length=63, unique=True, validators=[v.validate_name])
    rate = models.PositiveIntegerField(
        default=0, help_text=f"Requests per unit; 0 = no rate limit. {PER_NODE}"
    )
    unit = models.CharField(max_length=1, choices=RateUnit.choices, default=RateUnit.SECOND)
    burst = models.PositiveIntegerField(default=0, validators=v.bounds("burst"))
    nodelay = models.BooleanField(default=True, help_text="Serve the burst at once instead of pacing it.")
    delay = models.PositiveIntegerField(
        default=0, validators=v.bounds("delay"), help_text="Without nodelay: burst requests served at once."
    )
    key = models.CharField(max_length=16, choices=LimitKey.choices, default=LimitKey.CLIENT_IP)
    key_header = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="For key = header; requests without the header are counted by client IP.",
    )
    connections = models.PositiveIntegerField(
        default=0,
        validators=v.bounds("connections"),
        help_text=f"Concurrent requests per key; 0 = no connection limit. {PER_NODE}",
    )
    rate_status = models.PositiveIntegerField(default=429, validators=v.bounds("limit_status"))
    conn_status = models.PositiveIntegerField(default=503, validators=v.bounds("limit_status"))
    retry_after_s = models.PositiveIntegerField(default=1, validators=v.bounds("retry_after_s"))
    exempt = ArrayField(
        models.CharField(max_length=49),
        default=list,
        blank=True,
        size=64,
        help_text="CIDRs never limited (e.g. health checkers, internal clients).",
    )
    virtual_servers = models.ManyToManyField("lb.VirtualServer", blank=True, related_name="rate_limits")
    routes = models.ManyToManyField("lb.Route", blank=True, related_name="rate_limits")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from appliance.lb.gateway_specs import rate_limit_errors

        errors = rate_limit_errors(self)
        if errors:
            raise ValidationError(errors)
