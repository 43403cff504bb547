"""Allowed values of the enumerated fields of clusters, bindings and scaling."""

from django.db import models


class ClusterSource(models.TextChoices):
    KUBECONFIG = "kubeconfig", "Uploaded kubeconfig"
    IN_CLUSTER = "in_cluster", "In-cluster service account"


class ConnectionStatus(models.TextChoices):
    UNKNOWN = "unknown", "Not checked yet"
    CONNECTED = "connected", "Connected"
    UNREACHABLE = "unreachable", "Unreachable"
    UNAUTHORIZED = "unauthorized", "Credentials refused"


class Metric(models.TextChoices):
    RPS_PER_REPLICA = "rps_per_replica", "Requests/s per ready replica"
    INFLIGHT_PER_REPLICA = "inflight_per_replica", "In-flight requests per ready replica"
    P95_LATENCY_MS = "p95_latency_ms", "p95 latency of the upstream (ms)"


class Outcome(models.TextChoices):
    SCALED = "scaled", "Scaled"
    UNCHANGED = "unchanged", "Unchanged"
    SKIPPED = "skipped", "Skipped (no usable metric)"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"
