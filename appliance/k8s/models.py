"""Kubernetes clusters, the services bound to upstream pools, their discovered endpoints, and autoscaling.

A `ServiceBinding` feeds one upstream from one Service port in one namespace of one cluster; several
bindings may feed the same upstream (namespaces, clusters), each with its own weight. The watcher keeps a
`DiscoveredEndpoint` per endpoint it sees and, through `services.sync_endpoints`, the `lb.Server` that
carries it: the link lives here, so the load-balancing domain knows nothing about Kubernetes.
A `ScalingPolicy` scales one Deployment from what the load balancer measures for the binding's upstream;
every evaluation is kept as a `ScalingDecision` with its inputs.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from appliance.k8s import validators as kv
from appliance.k8s.choices import ClusterSource, ConnectionStatus, Metric, Outcome
from appliance.lb import validators as lbv
from appliance.lb.models import Server, Upstream


class Cluster(models.Model):
    """A Kubernetes API the appliance talks to: in-cluster, or an uploaded kubeconfig context.

    `credentials` holds the chosen context alone (cluster, user, context), sealed with AES-GCM; it is never
    returned by the API. Connection status is written by the watcher; `simulated` is set when the API
    server's `/version` says it is kubesim, the test and demo simulator.
    """

    name = models.CharField(max_length=63, unique=True, validators=[lbv.validate_name])
    source = models.CharField(max_length=16, choices=ClusterSource.choices, default=ClusterSource.KUBECONFIG)
    context = models.CharField(max_length=253, blank=True, default="", editable=False)
    server = models.CharField(max_length=500, blank=True, default="", editable=False)
    credentials = models.BinaryField(default=b"", editable=False)
    unreachable_grace_s = models.PositiveIntegerField(
        default=30,
        validators=kv.bounds("unreachable_grace_s"),
        help_text="After this long without its API, the cluster's servers drain (unless none would be left).",
    )
    status = models.CharField(
        max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.UNKNOWN
    )
    status_detail = models.CharField(max_length=500, blank=True, default="")
    server_version = models.CharField(max_length=64, blank=True, default="")
    simulated = models.BooleanField(default=False)
    last_contact = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ServiceBinding(models.Model):
    """upstream ← (cluster, namespace, Service, port name): the Service's endpoints become its servers."""

    upstream = models.ForeignKey(Upstream, on_delete=models.CASCADE, related_name="service_bindings")
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="bindings")
    namespace = models.CharField(max_length=63, validators=[kv.validate_dns_label])
    service = models.CharField(max_length=63, validators=[kv.validate_dns_label])
    port_name = models.CharField(
        max_length=15,
        blank=True,
        default="",
        validators=[kv.validate_port_name],
        help_text="The Service port's name; empty = its unnamed port.",
    )
    weight = models.PositiveIntegerField(default=1, validators=lbv.bounds("weight"))
    synced_at = models.DateTimeField(null=True, blank=True)
    sync_detail = models.CharField(max_length=500, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["upstream__name", "cluster__name", "namespace", "service", "port_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["upstream", "cluster", "namespace", "service", "port_name"],
                name="binding_unique_source",
            )
        ]

    def __str__(self) -> str:
        port = f":{self.port_name}" if self.port_name else ""
        return f"{self.cluster.name}/{self.namespace}/{self.service}{port}"


class DiscoveredEndpoint(models.Model):
    """One endpoint of a bound Service as last seen, and the server that carries it (once it was ready).

    A never-ready endpoint gets no server (no traffic, no reload); a server whose endpoint stops being ready
    is `disabled`, a terminating one `drain`. `note` says why an endpoint has no server when that is odd.
    A serving endpoint that vanishes from every slice keeps its server for `membership.REMOVAL_GRACE_S`
    (`missing_since`): slices are rewritten and endpoints move between them, and that must not reload.
    """

    binding = models.ForeignKey(ServiceBinding, on_delete=models.CASCADE, related_name="endpoints")
    server = models.OneToOneField(
        Server, null=True, blank=True, on_delete=models.SET_NULL, related_name="discovered_endpoint"
    )
    target = models.CharField(max_length=253, blank=True, default="", help_text="The pod behind it.")
    address = models.CharField(max_length=45)
    port = models.PositiveIntegerField()
    ready = models.BooleanField()
    serving = models.BooleanField()
    terminating = models.BooleanField()
    note = models.CharField(max_length=300, blank=True, default="")
    missing_since = models.DateTimeField(
        null=True, blank=True, help_text="No slice lists it since then; its server goes after a short grace."
    )
    first_seen = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["binding", "address", "port"]
        constraints = [
            models.UniqueConstraint(fields=["binding", "address", "port"], name="endpoint_unique_per_binding")
        ]

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


class ScalingPolicy(models.Model):
    """Scale one Deployment from the load balancer's view of the binding (the HPA algorithm)."""

    binding = models.OneToOneField(ServiceBinding, on_delete=models.CASCADE, related_name="scaling_policy")
    deployment = models.CharField(max_length=253, validators=[kv.validate_dns_subdomain])
    enabled = models.BooleanField(default=True)
    metric = models.CharField(max_length=24, choices=Metric.choices, default=Metric.RPS_PER_REPLICA)
    target = models.FloatField(
        validators=[MinValueValidator(0.01), MaxValueValidator(1_000_000)],
        help_text="Requests/s or in-flight requests per ready replica, or p95 latency in ms.",
    )
    min_replicas = models.PositiveIntegerField(default=1, validators=kv.bounds("replicas"))
    max_replicas = models.PositiveIntegerField(default=10, validators=kv.bounds("replicas"))
    scale_up_window_s = models.PositiveIntegerField(default=0, validators=kv.bounds("window_s"))
    scale_down_window_s = models.PositiveIntegerField(default=300, validators=kv.bounds("window_s"))
    max_step = models.PositiveIntegerField(
        default=4, validators=kv.bounds("max_step"), help_text="Most replicas added or removed per decision."
    )
    interval_s = models.PositiveIntegerField(default=15, validators=kv.bounds("interval_s"))
    metric_window_s = models.PositiveIntegerField(
        default=30,
        validators=kv.bounds("metric_window_s"),
        help_text="Seconds of traffic each decision reads.",
    )
    next_evaluation_at = models.DateTimeField(default=timezone.now, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["binding__upstream__name", "deployment"]
        verbose_name_plural = "scaling policies"

    def __str__(self) -> str:
        return f"{self.deployment} ({self.metric} {self.target:g})"

    def clean(self) -> None:
        if self.min_replicas > self.max_replicas:
            raise ValidationError({"min_replicas": "must not be greater than max_replicas"})


class ScalingDecision(models.Model):
    """One evaluation of a policy: the inputs it read, what it recommended and decided, and what happened.

    `recommended` is the algorithm's raw answer for this moment; the stabilization windows of later
    decisions are taken over these values, as Kubernetes does with its recommendations.
    """

    policy = models.ForeignKey(ScalingPolicy, on_delete=models.CASCADE, related_name="decisions")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    metric = models.CharField(max_length=24, choices=Metric.choices)
    target = models.FloatField()
    window_s = models.PositiveIntegerField()
    observed = models.FloatField(null=True, blank=True)
    ready_replicas = models.PositiveIntegerField(null=True, blank=True)
    current_replicas = models.PositiveIntegerField(null=True, blank=True)
    recommended = models.PositiveIntegerField(null=True, blank=True)
    desired = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.CharField(max_length=500)
    inputs = models.JSONField(default=dict, blank=True, help_text="The raw figures the decision read.")
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Scale writes tried (conflicts retried)."
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["policy", "-at"], name="decision_policy_at")]

    def __str__(self) -> str:
        return f"{self.policy_id} {self.outcome} {self.current_replicas}->{self.desired}"
