"""Business rules of the Kubernetes domain: clusters and their credentials, bindings, what is watched.

Keeping servers in step with endpoints is in `membership.py`, autoscaling in `scaler.py`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import urllib3
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from kubernetes import client
from kubernetes.config import ConfigException

from appliance.k8s import kube, kubeconfig
from appliance.k8s.choices import ConnectionStatus
from appliance.k8s.models import Cluster, ServiceBinding
from appliance.lb import services as lb_services
from appliance.lb.models import Server
from appliance.tls.crypto import DecryptionError

# Errors that mean "cannot talk to this cluster" (as opposed to a bug here).
UNREACHABLE_ERRORS = (urllib3.exceptions.HTTPError, OSError, ConfigException, DecryptionError)


def author_for(cluster_name: str) -> str:
    """Who the audit trail and revisions name for changes the appliance makes on a cluster's behalf."""
    return f"k8s:{cluster_name}"[:150]


# -- clusters ------------------------------------------------------------------------------------
def store_credentials(cluster: Cluster, parsed: kubeconfig.ParsedKubeconfig) -> None:
    """Keep the validated kubeconfig context, encrypted and bound to the (saved) cluster's id."""
    cluster.context, cluster.server = parsed.context, parsed.server
    cluster.credentials = parsed.sealed(cluster.pk)
    cluster.status, cluster.status_detail = ConnectionStatus.UNKNOWN, ""
    cluster.save()


def api_for(cluster: Cluster) -> client.ApiClient:
    return kubeconfig.api_client(cluster.pk, cluster.source, bytes(cluster.credentials), cluster.context)


@dataclass(frozen=True)
class Connection:
    status: str
    detail: str = ""
    version: str = ""
    simulated: bool = False


def probe(api: client.ApiClient) -> Connection:
    """Reachable, credentials accepted, and which version (kubesim says it is simulated)."""
    try:
        version = kube.version(api)
        kube.check_credentials(api)
    except kube.ApiException as exc:
        status = ConnectionStatus.UNAUTHORIZED if exc.status in (401, 403) else ConnectionStatus.UNREACHABLE
        return Connection(status, f"{exc.status} {exc.reason}"[:500])
    except UNREACHABLE_ERRORS as exc:
        return Connection(ConnectionStatus.UNREACHABLE, f"{type(exc).__name__}: {exc}"[:500])
    return Connection(ConnectionStatus.CONNECTED, "", version.git_version[:64], version.simulated)


def record_connection(cluster_id: int, connection: Connection) -> None:
    fields: dict[str, object] = {"status": connection.status, "status_detail": connection.detail}
    if connection.status == ConnectionStatus.CONNECTED:
        fields |= {
            "last_contact": timezone.now(),
            "server_version": connection.version,
            "simulated": connection.simulated,
        }
    Cluster.objects.filter(pk=cluster_id).update(**fields)


def check_cluster(cluster: Cluster) -> Connection:
    """Probe the cluster now and record the answer (the watcher does the same continuously)."""
    try:
        api = api_for(cluster)
    except UNREACHABLE_ERRORS as exc:
        connection = Connection(ConnectionStatus.UNREACHABLE, f"{type(exc).__name__}: {exc}"[:500])
    else:
        with api:
            connection = probe(api)
    record_connection(cluster.pk, connection)
    return connection


# -- bindings ------------------------------------------------------------------------------------
def binding_servers(binding: ServiceBinding) -> QuerySet[Server]:
    return Server.objects.filter(discovered_endpoint__binding=binding)


def apply_binding_weight(binding: ServiceBinding, author: str) -> int | None:
    """Give the binding's servers its weight; the generation carrying it, or None if nothing changed."""
    changed = binding_servers(binding).exclude(weight=binding.weight).update(weight=binding.weight)
    if not changed:
        return None
    return lb_services.mark_changed(f"k8s binding {binding}: weight {binding.weight}", author)


def delete_binding(binding: ServiceBinding, author: str) -> int | None:
    """Remove the binding and the servers it created; the generation carrying it, if servers went."""
    with transaction.atomic():
        servers = binding_servers(binding)
        removed = servers.count()
        servers.delete()
        label = str(binding)
        binding.delete()
        if not removed:
            return None
        return lb_services.mark_changed(f"k8s binding {label} removed ({removed} servers)", author)


# -- what the watcher watches --------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class BindingKey:
    id: int
    namespace: str
    service: str
    port_name: str


@dataclass(frozen=True)
class ClusterPlan:
    """Everything a cluster's watcher depends on: when any of it changes, the watcher restarts."""

    cluster_id: int
    name: str
    credentials_digest: str
    grace_s: int
    bindings: frozenset[BindingKey]

    def namespaces(self) -> dict[str, frozenset[str]]:
        services: dict[str, set[str]] = {}
        for key in self.bindings:
            services.setdefault(key.namespace, set()).add(key.service)
        return {namespace: frozenset(names) for namespace, names in services.items()}


def watch_plans() -> dict[int, ClusterPlan]:
    bindings: dict[int, set[BindingKey]] = {}
    for row in ServiceBinding.objects.values_list("cluster_id", "id", "namespace", "service", "port_name"):
        bindings.setdefault(row[0], set()).add(BindingKey(*row[1:]))
    plans = {}
    for cluster in Cluster.objects.only(
        "id", "name", "source", "context", "credentials", "unreachable_grace_s"
    ):
        material = f"{cluster.source}|{cluster.context}|".encode() + bytes(cluster.credentials)
        plans[cluster.pk] = ClusterPlan(
            cluster_id=cluster.pk,
            name=cluster.name,
            credentials_digest=hashlib.sha256(material).hexdigest(),
            grace_s=cluster.unreachable_grace_s,
            bindings=frozenset(bindings.get(cluster.pk, ())),
        )
    return plans
