"""Benchmark: server time and query count of every UI page with 200 upstreams and 2,000 servers.

Starts its own isolated stack (PostgreSQL, Redis and S3 only: pages need neither nginx nor the workers),
creates 200 upstreams of 10 servers, a virtual server with two routes per upstream, 20 compiled
revisions with per-node results, 5,000 audit events, 200 certificates (100 served over HTTPS), a cluster
with a service binding and a scaling policy per upstream and 5,000 scaling decisions, then requests every
page through Django's test client in this process: the time from request to rendered response
(middleware, view, queries, template) is the server time.
Prints median and p95 per page and the query count, and writes `loadtests/out/ui.json`.

Run: `.venv/bin/python -m loadtests.ui_pages [--rounds 20]` (about a minute).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from loadtests.harness import bench_stack

OUT = Path(__file__).resolve().parent / "out"
UPSTREAMS, SERVERS_PER_UPSTREAM, REVISIONS, AUDIT_EVENTS = 200, 10, 20, 5000
CERTIFICATES, DECISIONS = 200, 5000
BUDGET_MS = 300


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def create_data_set() -> None:
    from django.db import transaction

    from appliance.lb.models import Route, Server, Upstream, VirtualServer

    with transaction.atomic():
        upstreams = Upstream.objects.bulk_create(Upstream(name=f"pool-{i:03d}") for i in range(UPSTREAMS))
        Server.objects.bulk_create(
            Server(
                upstream=upstream,
                address=f"127.0.{i // 250}.{i % 250 + 1}",
                port=8000 + j,
                weight=j % 5 + 1,
                state=("enabled", "enabled", "enabled", "drain", "disabled")[j % 5],
            )
            for i, upstream in enumerate(upstreams)
            for j in range(SERVERS_PER_UPSTREAM)
        )
        sites = VirtualServer.objects.bulk_create(
            VirtualServer(name=f"site-{i:03d}", http_ports=[20000 + i], default_upstream=upstream)
            for i, upstream in enumerate(upstreams)
        )
        Route.objects.bulk_create(
            Route(virtual_server=site, path_prefix=prefix, priority=priority, upstream=upstreams[-1 - i])
            for i, site in enumerate(sites)
            for priority, prefix in ((10, "/api"), (20, "/static"))
        )


def create_tls_and_kubernetes() -> None:
    """Certificates (metadata only: pages never read the files), half bound to a site by HTTPS, and one
    simulated cluster whose Services feed every upstream, each scaled by a policy with its decisions."""
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from appliance.k8s.models import Cluster, ScalingDecision, ScalingPolicy, ServiceBinding
    from appliance.lb.models import Upstream, VirtualServer
    from appliance.tls.models import Certificate, TlsCertificate, VirtualServerTls

    now = timezone.now()
    with transaction.atomic():
        certs = Certificate.objects.bulk_create(
            Certificate(
                name=f"cert-{i:03d}",
                source="uploaded",
                status="valid",
                common_name=f"site-{i:03d}.test",
                dns_names=[f"site-{i:03d}.test", f"www.site-{i:03d}.test"],
                issuer="CN=bench CA",
                not_before=now - dt.timedelta(days=10),
                not_after=now + dt.timedelta(days=i % 120),
                key_type="ec-p256",
            )
            for i in range(CERTIFICATES)
        )
        sites = list(VirtualServer.objects.order_by("name")[: CERTIFICATES // 2])
        bindings = VirtualServerTls.objects.bulk_create(
            VirtualServerTls(virtual_server=site, https_ports=[30000 + i]) for i, site in enumerate(sites)
        )
        TlsCertificate.objects.bulk_create(
            TlsCertificate(binding=binding, certificate=cert, position=0)
            for binding, cert in zip(bindings, certs, strict=False)
        )
        cluster = Cluster.objects.create(name="bench", source="in_cluster")
        services = ServiceBinding.objects.bulk_create(
            ServiceBinding(upstream=u, cluster=cluster, namespace="bench", service=u.name)
            for u in Upstream.objects.order_by("name")
        )
        policies = ScalingPolicy.objects.bulk_create(
            ScalingPolicy(binding=b, deployment=b.service, target=50) for b in services
        )
        ScalingDecision.objects.bulk_create(
            ScalingDecision(
                policy=policies[i % len(policies)],
                at=now - dt.timedelta(seconds=15 * i),
                metric="rps_per_replica",
                target=50,
                window_s=30,
                observed=40.0 + i % 30,
                ready_replicas=2,
                current_replicas=2,
                recommended=2 + i % 3,
                desired=2 + i % 3,
                outcome=("scaled", "unchanged")[i % 2],
                reason="bench",
                inputs={"requests": 1000 + i, "window_s": 30},
            )
            for i in range(DECISIONS)
        )


def create_audit_events() -> None:
    from appliance.audit.models import AuditEvent

    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=f"user{i % 7}",
            actor_kind="session",
            action=("create", "update", "delete")[i % 3],
            object_type="lb.server",
            object_id=str(i),
            object_repr=f"127.0.0.1:{8000 + i % 1000}",
            after={"state": "enabled", "weight": i % 5 + 1},
        )
        for i in range(AUDIT_EVENTS)
    )


def create_revisions() -> None:
    """Real compiled revisions (a few hundred kB of config each) applied on two simulated nodes."""
    from django.db import transaction

    from appliance.lb import services
    from appliance.lb.models import DataPlaneNode, NodeRevisionStatus, Server

    nodes = [
        DataPlaneNode.objects.create(name=f"node{n}", status_url=f"http://127.0.0.1:{n}") for n in (1, 2)
    ]
    first = Server.objects.order_by("pk").first()
    assert first is not None
    for n in range(REVISIONS):
        with transaction.atomic():
            Server.objects.filter(pk=first.pk).update(weight=n % 9 + 1)
            services.mark_changed(f"bench change {n}", "bench")
        revision = services.compile_desired_state(force=True)
        assert revision is not None
        for node in nodes:
            NodeRevisionStatus.objects.create(
                revision=revision, node=node, status="applied", duration_ms=90 + n
            )
        services.refresh_revision_status(revision)
    DataPlaneNode.objects.update(live_revision=revision.number)


def pages() -> dict[str, str]:
    from appliance.k8s.models import Cluster, ScalingPolicy
    from appliance.lb.models import ConfigRevision, Route, Server, Upstream, VirtualServer
    from appliance.tls.models import Certificate

    upstream, site = Upstream.objects.get(name="pool-100"), VirtualServer.objects.get(name="site-100")
    server, route = (
        Server.objects.filter(upstream=upstream).first(),
        Route.objects.filter(virtual_server=site).first(),
    )
    newest, oldest = ConfigRevision.objects.first(), ConfigRevision.objects.last()
    assert server and route and newest and oldest
    cert = Certificate.objects.get(name="cert-100")
    https_site = VirtualServer.objects.get(name="site-050")  # served over HTTPS with cert-050
    cluster = Cluster.objects.get(name="bench")
    policy = ScalingPolicy.objects.get(binding__upstream=upstream)
    return {
        "dashboard": "/",
        "dashboard_live": "/dashboard/live/",
        "upstream_list": "/upstreams/",
        "upstream_list_page_5": "/upstreams/?page=5",
        "upstream_search": "/upstreams/?q=pool-1&algorithm=round_robin",
        "upstream_detail": f"/upstreams/{upstream.pk}/",
        "upstream_edit": f"/upstreams/{upstream.pk}/edit/",
        "server_add": f"/upstreams/{upstream.pk}/servers/add/",
        "server_edit": f"/servers/{server.pk}/edit/",
        "virtual_server_list": "/virtual-servers/",
        "virtual_server_detail": f"/virtual-servers/{site.pk}/",
        "virtual_server_edit": f"/virtual-servers/{site.pk}/edit/",
        "route_list": "/routes/",
        "route_add": f"/virtual-servers/{site.pk}/routes/add/",
        "route_edit": f"/routes/{route.pk}/edit/",
        "revision_list": "/revisions/",
        "revision_detail": f"/revisions/{newest.number}/",
        "revision_diff": f"/revisions/diff/?old={oldest.number}&new={newest.number}",
        "revision_rollback_confirm": f"/revisions/{oldest.number}/rollback/",
        "virtual_server_route_test": f"/virtual-servers/{site.pk}/route-test/?method=GET&path=/api/x",
        "virtual_server_tls_edit": f"/virtual-servers/{site.pk}/tls/",
        "virtual_server_detail_https": f"/virtual-servers/{https_site.pk}/",
        "certificate_version_upload": f"/certificates/{cert.pk}/upload/",
        "certificate_list": "/certificates/",
        "certificate_search": "/certificates/?q=www.site-150.test",
        "certificate_detail": f"/certificates/{cert.pk}/",
        "certificate_upload": "/certificates/upload/",
        "certificate_acme": "/certificates/acme/",
        "cluster_list": "/kubernetes/clusters/",
        "cluster_detail": f"/kubernetes/clusters/{cluster.pk}/",
        "service_binding_list": "/kubernetes/bindings/",
        "service_binding_detail": f"/kubernetes/bindings/{policy.binding_id}/",
        "service_binding_edit": f"/kubernetes/bindings/{policy.binding_id}/edit/",
        "scaling_policy_list": "/kubernetes/policies/",
        "scaling_policy_detail": f"/kubernetes/policies/{policy.pk}/",
        "scaling_policy_edit": f"/kubernetes/policies/{policy.pk}/edit/",
        "scaling_decision_list": "/kubernetes/decisions/",
        "scaling_decision_filtered": f"/kubernetes/decisions/?policy={policy.pk}&outcome=scaled",
        "audit_log": "/audit/",
        "audit_log_filtered": "/audit/?actor=user3&action=update",
        "user_list": "/users/",
        "token_list": "/tokens/",
    }


def measure(rounds: int) -> dict[str, float]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    figures: dict[str, float] = {}
    for name, url in pages().items():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        figures[f"ui.{name}.queries"] = len(queries)  # now: the next request clears the query log
        timings = []
        for _ in range(rounds):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, url
        figures[f"ui.{name}.p50_ms"] = round(statistics.median(timings), 1)
        figures[f"ui.{name}.p95_ms"] = round(percentile(timings, 95), 1)
        print(
            f"{name:26} p50 {statistics.median(timings):6.1f} ms  p95 {percentile(timings, 95):6.1f} ms  "
            f"{figures[f'ui.{name}.queries']:2d} queries  {url}"
        )
    return figures


def summarise(figures: dict[str, float]) -> dict[str, float]:
    p50 = [v for k, v in figures.items() if k.endswith(".p50_ms")]
    p95 = [v for k, v in figures.items() if k.endswith(".p95_ms")]
    queries = [v for k, v in figures.items() if k.endswith(".queries")]
    return {
        "ui.max_p50_ms": max(p50),
        "ui.max_p95_ms": max(p95),
        "ui.max_queries": max(queries),
        "ui.pages_over_300ms_p95": sum(1 for v in p95 if v > BUDGET_MS),
    }


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with bench_stack(data_plane=False):  # pages and queries only: no worker compiles the data set
        create_data_set()
        create_revisions()
        create_audit_events()
        create_tls_and_kubernetes()
        figures = measure(args.rounds)
    figures.update(summarise(figures))
    OUT.mkdir(exist_ok=True)
    (OUT / "ui.json").write_text(json.dumps(figures, indent=2) + "\n")
    for name in ("ui.max_p50_ms", "ui.max_p95_ms", "ui.max_queries", "ui.pages_over_300ms_p95"):
        print(f"{name:28} {figures[name]}")
    return figures


if __name__ == "__main__":
    main()
