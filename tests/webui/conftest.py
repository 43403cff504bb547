"""Fixtures for the UI view tests: signed-in clients per role and a small load-balancing data set.

These tests drive the views through Django's test client against the real PostgreSQL (the `db` fixture,
rolled back after each test); nothing here needs nginx or the workers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.test import Client
from django.utils import timezone

from appliance.accounts import tokens
from appliance.accounts.models import ApiToken
from appliance.accounts.roles import Role, set_role
from appliance.benchmarks.models import BenchmarkRun
from appliance.k8s.choices import ClusterSource
from appliance.k8s.models import Cluster, ScalingDecision, ScalingPolicy, ServiceBinding
from appliance.lb.models import (
    ConfigRevision,
    DataPlaneNode,
    DesiredState,
    NodeRevisionStatus,
    Route,
    Server,
    Upstream,
    VirtualServer,
)
from appliance.tls.choices import CertificateSource, CertificateStatus
from appliance.tls.models import AcmeAccount, Certificate, TlsCertificate, VirtualServerTls


def make_user(username: str, role: Role | None):  # type: ignore[no-untyped-def]
    user = get_user_model().objects.create_user(username, password="unused-password-1")
    if role is not None:
        set_role(user, role)
    return user


def client_with_role(username: str, role: Role | None) -> Client:
    client = Client()
    client.force_login(make_user(username, role))
    return client


@pytest.fixture
def viewer(db: None) -> Client:
    return client_with_role("ui-viewer", Role.VIEWER)


@pytest.fixture
def operator(db: None) -> Client:
    return client_with_role("ui-operator", Role.OPERATOR)


@pytest.fixture
def admin(db: None) -> Client:
    return client_with_role("ui-admin", Role.ADMIN)


def generation() -> int:
    state = DesiredState.objects.filter(pk=1).first()
    return state.generation if state else 0


@dataclass
class Sample:
    upstream: Upstream
    servers: list[Server]
    virtual_server: VirtualServer
    route: Route
    revisions: list[ConfigRevision]
    node: DataPlaneNode
    user: AbstractBaseUser
    token: ApiToken
    certificate: Certificate
    cluster: Cluster
    binding: ServiceBinding
    policy: ScalingPolicy
    acme_account: AcmeAccount
    benchmark: BenchmarkRun


def next_revision_number() -> int:
    # From the sequence the services use, so a rollback made by a test never collides with these numbers.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('lb_revision_number_seq')")
        return int(cursor.fetchone()[0])


def make_revision(files: dict[str, str], node: DataPlaneNode, status: str) -> ConfigRevision:
    number = next_revision_number()
    revision = ConfigRevision.objects.create(
        number=number, files=files, checksum=f"sum{number}", cause=f"change {number}", status=status
    )
    NodeRevisionStatus.objects.create(revision=revision, node=node, status=status, duration_ms=40 + number)
    return revision


@pytest.fixture
def sample(db: None) -> Sample:
    upstream = Upstream.objects.create(name="web")
    servers = [
        Server.objects.create(upstream=upstream, address="127.0.0.1", port=port) for port in (9001, 9002)
    ]
    virtual_server = VirtualServer.objects.create(name="site", http_ports=[8080], default_upstream=upstream)
    route = Route.objects.create(virtual_server=virtual_server, path_prefix="/api", upstream=upstream)
    node = DataPlaneNode.objects.create(name="node1", status_url="http://127.0.0.1:1")
    revisions = [
        make_revision({"upstreams/web.conf": "server 127.0.0.1:9001;\n"}, node, "applied"),
        make_revision({"upstreams/web.conf": "server 127.0.0.1:9002;\n"}, node, "applied"),
    ]
    DataPlaneNode.objects.filter(pk=node.pk).update(live_revision=revisions[-1].number)
    node.refresh_from_db()
    user = make_user("sample-user", Role.OPERATOR)
    token, _ = tokens.issue(user, Role.VIEWER, "sample-token")
    certificate, cluster, binding, policy = tls_and_kubernetes(virtual_server, upstream)
    return Sample(
        upstream,
        servers,
        virtual_server,
        route,
        revisions,
        node,
        user,
        token,
        certificate,
        cluster,
        binding,
        policy,
        AcmeAccount.objects.create(name="staging", directory_url="https://acme.example.test/directory"),
        BenchmarkRun.objects.create(scenario="latency", virtual_server=virtual_server, target_name="site"),
    )


def tls_and_kubernetes(
    virtual_server: VirtualServer, upstream: Upstream
) -> tuple[Certificate, Cluster, ServiceBinding, ScalingPolicy]:
    """A certificate served by the virtual server on 8443 (metadata only: pages never read its files),
    and a cluster whose Service feeds the upstream, scaled by a policy with one decision."""
    now = timezone.now()
    certificate = Certificate.objects.create(
        name="site-cert",
        source=CertificateSource.SELF_SIGNED,
        status=CertificateStatus.VALID,
        common_name="site.test",
        subject="CN=site.test",
        issuer="CN=site.test",
        dns_names=["site.test", "www.site.test"],
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=90),
        key_type="ec-p256",
    )
    tls = VirtualServerTls.objects.create(virtual_server=virtual_server, https_ports=[8443])
    TlsCertificate.objects.create(binding=tls, certificate=certificate, position=0)
    cluster = Cluster.objects.create(name="kind", source=ClusterSource.IN_CLUSTER)
    binding = ServiceBinding.objects.create(
        upstream=upstream, cluster=cluster, namespace="shop", service="web"
    )
    policy = ScalingPolicy.objects.create(binding=binding, deployment="web", target=50)
    ScalingDecision.objects.create(
        policy=policy,
        metric=policy.metric,
        target=50,
        window_s=30,
        observed=120.0,
        ready_replicas=2,
        current_replicas=2,
        recommended=5,
        desired=5,
        outcome="scaled",
        reason="120 rps per replica over target 50",
        inputs={"requests": 7200, "window_s": 30},
    )
    return certificate, cluster, binding, policy
