"""The reload, TLS and autoscale scenarios started over the API and run by the real Celery worker against
the real nginx data plane (and a real kubesim cluster for autoscale)."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from appliance.k8s.choices import Metric
from appliance.k8s.models import ScalingPolicy
from appliance.launcher.stack import Stack
from appliance.lb import services as lb_services
from appliance.lb.models import ConfigRevision, VirtualServer
from appliance.tls import services as tls_services
from appliance.tls.models import TlsCertificate, VirtualServerTls
from loadtests.harness import node_revision
from tests.api.conftest import Actor
from tests.benchmarks.conftest import wait_status
from tests.integration.conftest import Pools
from tests.k8s.conftest import Clusters, k8s, k8s_watcher, nginx_workers, wait_servers  # noqa: F401
from tests.support.lb import free_port

pytestmark = pytest.mark.stack


def _start(actor: Actor, scenario: str, vs: VirtualServer, **fields: object) -> int:
    body = {"scenario": scenario, "virtual_server": vs.pk, "duration_s": 3, "concurrency": 4, **fields}
    answer = actor.client.post("/api/v1/benchmarks/", body, format="json")
    assert answer.status_code == 201, answer.json()
    return int(answer.json()["id"])


def test_a_reload_run_reapplies_the_same_configuration_n_times_under_load(
    target: VirtualServer, operator: Actor, dataplane: Stack
) -> None:
    status_url = dataplane.nodes[0].status_url
    before, workers_before = node_revision(status_url) or 0, nginx_workers(dataplane)
    live_checksum = ConfigRevision.objects.get(number=before).checksum

    run = wait_status(_start(operator, "reload", target, applies=4), {"succeeded", "failed"}, 90)

    assert run.status == "succeeded", run.error
    assert run.figures["reload.requests"] > 0 and run.figures["reload.applies"] == 4
    assert {"apply.p50_ms", "apply.p99_ms", "reload.failed_requests", "reload.p99_change_ms"} <= set(
        run.figures
    )
    made = ConfigRevision.objects.filter(cause__contains=f"benchmark #{run.pk}: apply").order_by("number")
    assert made.count() == 4 and {r.checksum for r in made} == {live_checksum}  # traffic routed as before
    assert made[0].author == operator.user.get_username()  # type: ignore[attr-defined]
    assert (node_revision(status_url) or 0) >= before + 4 == made.last().number
    assert nginx_workers(dataplane).isdisjoint(workers_before)  # nginx really reloaded
    results = json.loads(operator.client.get(f"/api/v1/benchmarks/{run.pk}/results/").content)
    assert len(results["timeline"]) == 4 and [e["label"] for e in results["events"]][-1] == "4 applies live"


def test_a_tls_run_measures_handshakes_on_the_real_https_port(pools: Pools, operator: Actor) -> None:
    pools.pool("tlsb", [pools.backend("t0")])
    https_port = free_port()
    vs = VirtualServer.objects.get(name="vs-tlsb")
    with transaction.atomic():
        binding = VirtualServerTls.objects.create(virtual_server=vs, https_ports=[https_port])
        cert = tls_services.generate_self_signed("bench", ["bench.test"], "ec-p256", 30)
        TlsCertificate.objects.create(binding=binding, certificate=cert, position=0)
        lb_services.mark_changed("TLS benchmark target", "tests")
    pools.wait(30)

    run = wait_status(_start(operator, "tls", vs), {"succeeded", "failed"}, 120)

    assert run.status == "succeeded", run.error
    assert run.figures["tls.handshakes_per_s"] > 0 and run.figures["tls.handshake_connections"] > 0
    assert run.figures["tls.h1_keepalive_req_per_s"] > 0 and run.figures["tls.h2_req_per_s"] > 0
    assert run.figures["tls.failed_requests"] == 0 and "tls.plain_keepalive_req_per_s" in run.figures
    results = json.loads(operator.client.get(f"/api/v1/benchmarks/{run.pk}/results/").content)
    assert results["config"]["https"] == f"https://127.0.0.1:{https_port}/"


def test_an_autoscale_run_scales_the_deployment_out_and_back_in(
    k8s: Clusters,  # noqa: F811 - fixture
    pools: Pools,
    operator: Actor,
) -> None:
    cluster = k8s.start("bench", watched=["shop"], scaled=[("shop", "web")])
    cluster.deploy("shop", "web", replicas=2, delay_ms=20, pre_stop_s=1)
    pools.pool("kbench", [])
    policy = ScalingPolicy(
        binding=cluster.bind("kbench", "shop", "web"),
        deployment="web",
        metric=Metric.RPS_PER_REPLICA,
        target=15,
        min_replicas=2,
        max_replicas=4,
        max_step=2,
        scale_down_window_s=4,
        interval_s=1,
        metric_window_s=3,
    )
    policy.full_clean()
    policy.save()
    wait_servers("kbench", 2)
    pools.wait()

    vs = VirtualServer.objects.get(name="vs-kbench")
    run = wait_status(
        _start(operator, "autoscale", vs, duration_s=12, concurrency=8), {"succeeded", "failed"}, 120
    )

    assert run.status == "succeeded", run.error
    assert run.figures["autoscale.max_replicas"] > 2 and run.figures["autoscale.scale_down_s"] >= 0
    assert run.figures["autoscale.requests"] > 0 and cluster.replicas("shop", "web") == 2
    rows = json.loads(operator.client.get(f"/api/v1/benchmarks/{run.pk}/results/").content)["timeline"]
    assert max(r["serving"] for r in rows) > 2 and (rows[-1]["replicas"], rows[-1]["serving"]) == (2, 2)
    assert sum(r["offered"] for r in rows) == run.figures["autoscale.requests"]
