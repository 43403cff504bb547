"""Upstream pools, servers, virtual servers and routes (desired state) and config revisions (history).

Desired state is edited by operators; every change bumps `DesiredState.generation` in the same
transaction, and the compile worker turns the newest generation into an immutable `ConfigRevision`.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from appliance.lb import validators as v
from appliance.lb.choices import (
    Algorithm,
    HashKey,
    HttpMethod,
    PathKind,
    RedirectStatus,
    RetryCondition,
    RevisionStatus,
    RouteAction,
    ServerState,
    ValueMatchOp,
)
from nginx import validation


def _default_retry_conditions() -> list[str]:
    return [RetryCondition.ERROR, RetryCondition.TIMEOUT]


class Upstream(models.Model):
    """A pool of servers with a balancing algorithm, keepalive, timeouts and a retry policy."""

    name = models.CharField(max_length=63, unique=True, validators=[v.validate_name])
    algorithm = models.CharField(max_length=32, choices=Algorithm.choices, default=Algorithm.ROUND_ROBIN)
    hash_key = models.CharField(max_length=16, choices=HashKey.choices, blank=True, default="")
    hash_key_name = models.CharField(
        max_length=64,
        blank=True,
        default="",
        validators=[v.validate_header_name],
        help_text="Header or cookie name when the hash key is a header or cookie.",
    )
    hash_consistent = models.BooleanField(default=False)
    keepalive = models.PositiveIntegerField(default=32, validators=v.bounds("keepalive"))
    connect_timeout_ms = models.PositiveIntegerField(default=1000, validators=v.bounds("connect_timeout_ms"))
    # A backend that accepts and then hangs costs a client this long before nginx tries the next server.
    read_timeout_s = models.PositiveIntegerField(default=2, validators=v.bounds("read_timeout_s"))
    send_timeout_s = models.PositiveIntegerField(default=30, validators=v.bounds("send_timeout_s"))
    retry_conditions = ArrayField(
        models.CharField(max_length=16, choices=RetryCondition.choices),
        default=_default_retry_conditions,
        blank=True,
    )
    retry_tries = models.PositiveIntegerField(default=3, validators=v.bounds("retry_tries"))
    retry_timeout_s = models.PositiveIntegerField(default=10, validators=v.bounds("retry_timeout_s"))
    retry_non_idempotent = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Cross-field rules: backup members and the hash key must suit the algorithm."""
        no_backup = self.algorithm in validation.NO_BACKUP_ALGORITHMS
        if no_backup and self.pk and self.servers.filter(backup=True).exists():
            raise ValidationError(
                {
                    "algorithm": f"{self.algorithm} does not allow backup servers; "
                    "make the backup servers normal members first"
                }
            )
        if self.algorithm != Algorithm.HASH:
            if self.hash_key or self.hash_key_name:
                raise ValidationError({"hash_key": "only the hash algorithm takes a hash key"})
            return
        if self.hash_key in (HashKey.HEADER, HashKey.COOKIE) and not self.hash_key_name:
            raise ValidationError({"hash_key_name": f"required when hashing on a {self.hash_key}"})
        try:
            validation.validate_hash_key(self.hash_key or None, self.hash_key_name or None)
        except ValueError as exc:
            raise ValidationError({"hash_key_name" if self.hash_key_name else "hash_key": str(exc)}) from None


class Server(models.Model):
    """One member of an upstream; `quarantine_reason` says why the compiler left it out, if it did."""

    upstream = models.ForeignKey(Upstream, on_delete=models.CASCADE, related_name="servers")
    address = models.CharField(max_length=253, validators=[v.validate_address])
    port = models.PositiveIntegerField(validators=v.bounds("port"))
    weight = models.PositiveIntegerField(default=1, validators=v.bounds("weight"))
    max_fails = models.PositiveIntegerField(default=3, validators=v.bounds("max_fails"))
    fail_timeout_s = models.PositiveIntegerField(default=10, validators=v.bounds("fail_timeout_s"))
    max_conns = models.PositiveIntegerField(default=0, validators=v.bounds("max_conns"))
    backup = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=ServerState.choices, default=ServerState.ENABLED)
    quarantine_reason = models.CharField(max_length=500, blank=True, default="", editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["upstream__name", "address", "port"]
        constraints = [
            models.UniqueConstraint(fields=["upstream", "address", "port"], name="server_unique_member")
        ]

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"

    def clean(self) -> None:
        if self.upstream_id is None:
            return
        try:
            validation.validate_backup_allowed(self.upstream.algorithm, self.backup)
        except ValueError as exc:
            raise ValidationError({"backup": str(exc)}) from None


class VirtualServer(models.Model):
    """A listener (ports + hostnames) with a default upstream; routes, TLS and policies attach here."""

    name = models.CharField(max_length=63, unique=True, validators=[v.validate_name])
    hostnames = ArrayField(
        models.CharField(max_length=253, validators=[v.validate_server_name]),
        default=list,
        blank=True,
        size=64,
        help_text="Empty = answer any host on these ports.",
    )
    http_ports = ArrayField(models.PositiveIntegerField(validators=v.bounds("port")), size=8)
    default_upstream = models.ForeignKey(
        Upstream, null=True, blank=True, on_delete=models.PROTECT, related_name="virtual_servers"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Route(models.Model):
    """A rule of a virtual server: conditions on the request, then forward / redirect / fixed response.

    Routes are tried by ascending priority, then the more specific first (`nginx.routing`); the first
    whose every condition holds takes the request, and the default upstream takes the rest.
    """

    virtual_server = models.ForeignKey(VirtualServer, on_delete=models.CASCADE, related_name="routes")
    priority = models.PositiveIntegerField(default=100, validators=v.bounds("route_priority"))
    path_kind = models.CharField(max_length=8, choices=PathKind.choices, default=PathKind.PREFIX)
    path_prefix = models.CharField(
        max_length=256, help_text="A path prefix (whole segments), an exact path or a regular expression."
    )
    host = models.CharField(max_length=253, blank=True, default="", help_text="Exact host or *.suffix.")
    methods = ArrayField(
        models.CharField(max_length=8, choices=HttpMethod.choices), default=list, blank=True, size=7
    )
    header_name = models.CharField(max_length=64, blank=True, default="")
    header_match = models.CharField(max_length=8, choices=ValueMatchOp.choices, blank=True, default="")
    header_value = models.CharField(max_length=256, blank=True, default="")
    cookie_name = models.CharField(max_length=64, blank=True, default="")
    cookie_match = models.CharField(max_length=8, choices=ValueMatchOp.choices, blank=True, default="")
    cookie_value = models.CharField(max_length=256, blank=True, default="")
    query_name = models.CharField(max_length=64, blank=True, default="")
    query_match = models.CharField(max_length=8, choices=ValueMatchOp.choices, blank=True, default="")
    query_value = models.CharField(max_length=256, blank=True, default="")
    action = models.CharField(max_length=8, choices=RouteAction.choices, default=RouteAction.FORWARD)
    upstream = models.ForeignKey(
        Upstream, null=True, blank=True, on_delete=models.PROTECT, related_name="routes"
    )
    strip_prefix = models.BooleanField(default=False)
    rewrite_prefix = models.CharField(max_length=256, blank=True, default="")
    request_headers = models.JSONField(default=dict, blank=True, help_text="Headers set: {name: value}.")
    request_headers_remove = ArrayField(models.CharField(max_length=64), default=list, blank=True, size=32)
    response_headers = models.JSONField(default=dict, blank=True, help_text="Headers set: {name: value}.")
    response_headers_remove = ArrayField(models.CharField(max_length=64), default=list, blank=True, size=32)
    canary_upstream = models.ForeignKey(
        Upstream, null=True, blank=True, on_delete=models.PROTECT, related_name="canary_routes"
    )
    canary_weight = models.PositiveIntegerField(default=0, validators=v.bounds("canary_weight"))
    canary_header = models.CharField(max_length=64, blank=True, default="")
    canary_header_value = models.CharField(max_length=256, blank=True, default="")
    canary_cookie = models.CharField(max_length=64, blank=True, default="")
    canary_cookie_value = models.CharField(max_length=256, blank=True, default="")
    redirect_status = models.PositiveIntegerField(
        choices=RedirectStatus.choices, default=RedirectStatus.FOUND
    )
    redirect_url = models.CharField(max_length=2048, blank=True, default="")
    respond_status = models.PositiveIntegerField(default=200, validators=v.bounds("respond_status"))
    respond_body = models.CharField(max_length=1024, blank=True, default="")

    class Meta:
        ordering = ["virtual_server__name", "priority", "path_prefix"]

    def __str__(self) -> str:
        return f"{self.virtual_server.name}{self.path_prefix}"

    def clean(self) -> None:
        """Every rule the compiler applies to a route, as field errors (`appliance.lb.gateway_specs`)."""
        from appliance.lb.gateway_specs import route_errors

        errors = route_errors(self)
        if errors:
            raise ValidationError(errors)


class DesiredState(models.Model):
    """Singleton: a counter bumped by every change, and the newest generation compiled so far.

    Comparing the two lets a burst of changes coalesce into one compile: the first worker to run compiles
    everything up to the current generation, and the tasks queued behind it find nothing left to do.
    """

    generation = models.BigIntegerField(default=0)
    compiled_generation = models.BigIntegerField(default=0)
    cause = models.TextField(blank=True, default="")
    author = models.CharField(max_length=150, blank=True, default="")


class ConfigRevision(models.Model):
    """An immutable compiled configuration: files, checksum, why and by whom, and per-node outcome."""

    number = models.PositiveBigIntegerField(unique=True)
    files = models.JSONField()
    checksum = models.CharField(max_length=64)
    listen_ports = ArrayField(models.PositiveIntegerField(), default=list)
    cause = models.TextField(blank=True, default="")
    author = models.CharField(max_length=150, blank=True, default="")
    created = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=RevisionStatus.choices, default=RevisionStatus.PENDING)
    error = models.TextField(blank=True, default="")
    culprits = models.JSONField(
        default=list, blank=True, help_text="Objects that nginx's error message points at, when it failed."
    )
    quarantined = models.JSONField(
        default=list, blank=True, help_text="Objects left out of this revision, each with the reason."
    )
    previous = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The revision that was live when this one was created.",
    )
    rollback_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"revision {self.number}"


class DataPlaneNodeQuerySet(models.QuerySet):
    def active(self) -> DataPlaneNodeQuerySet:
        return self.filter(last_seen__gte=timezone.now() - timedelta(seconds=settings.LB_NODE_STALE_SECONDS))


class DataPlaneNode(models.Model):
    """A data-plane node (nginx + agent), registered and kept fresh by its agent."""

    name = models.CharField(max_length=63, unique=True)
    status_url = models.CharField(max_length=200)
    last_seen = models.DateTimeField(default=timezone.now)
    live_revision = models.PositiveBigIntegerField(null=True, blank=True)

    objects = DataPlaneNodeQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name


class NodeRevisionStatus(models.Model):
    """What one node did with one revision."""

    revision = models.ForeignKey(ConfigRevision, on_delete=models.CASCADE, related_name="node_statuses")
    node = models.ForeignKey(DataPlaneNode, on_delete=models.CASCADE, related_name="revision_statuses")
    status = models.CharField(max_length=16, choices=RevisionStatus.choices)
    message = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["revision", "node"], name="one_status_per_node")]


# The gateway's policy models live beside these; importing them here registers them with the app.
from appliance.lb.gateway_models import RateLimitPolicy, StickyPolicy  # noqa: E402

__all__ = [
    "ConfigRevision",
    "DataPlaneNode",
    "DesiredState",
    "NodeRevisionStatus",
    "RateLimitPolicy",
    "Route",
    "Server",
    "StickyPolicy",
    "Upstream",
    "VirtualServer",
]
