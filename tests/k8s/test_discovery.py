"""Discovery: a Deployment scaled in kubesim changes the upstream's servers in step, under load, without
client errors; endpoint flaps that leave the set unchanged cost no reload; the watch survives a restart
of the API server."""

from __future__ import annotations

import time

from kubernetes import client

from appliance.k8s.models import DiscoveredEndpoint, ServiceBinding
from appliance.lb.models import ConfigRevision, DesiredState
from tests.health.conftest import Load
from tests.k8s.conftest import nginx_workers, servers, wait_servers
from tests.support.lb import wait_until

SYNC_BOUND_S = 2.0


def _lag_until_servers_follow(cluster, upstream: str, replicas: int) -> tuple[float, set[tuple[str, int]]]:
    """Scale to `replicas`; the seconds from the moment kubesim's ready endpoints reach the new count
    until the upstream's enabled servers are exactly them, and that set."""
    cluster.scale("shop", "web", replicas)
    kube_done = wait_until(
        lambda: len(cluster.ready_endpoints("shop", "web")) == replicas and time.monotonic(),
        20,
        f"{replicas} ready endpoints in kubesim",
        interval=0.01,
    )
    expected = cluster.ready_endpoints("shop", "web")
    db_done = wait_until(lambda: servers(upstream) == expected and time.monotonic(), 10, "servers", 0.01)
    return db_done - kube_done, expected


def test_scaling_a_deployment_changes_the_servers_within_2s_without_client_errors(k8s, pools):
    cluster = k8s.start("alpha", watched=["shop"])
    cluster.deploy("shop", "web", replicas=2)
    url = pools.pool("kscale", [])
    cluster.bind("kscale", "shop", "web")
    wait_servers("kscale", 2)
    pools.wait()
    with Load(url, threads=4) as load:
        time.sleep(1)
        up_lag, grown = _lag_until_servers_follow(cluster, "kscale", 4)
        pools.wait()
        time.sleep(1.5)
        down_lag, shrunk = _lag_until_servers_follow(cluster, "kscale", 1)
        draining = servers("kscale", "drain")
        pools.wait()
        # Terminating replicas serve in-flight requests for their preStop time, then exit and go.
        wait_until(lambda: not servers("kscale", "drain"), 20, "the drained servers removed")
    assert up_lag <= SYNC_BOUND_S, up_lag
    assert down_lag <= SYNC_BOUND_S, down_lag
    assert load.errors == {}, load.results
    assert sum(load.results.values()) > 200
    served = {name for name in load.results if name.startswith("web-")}
    assert len(served) >= 4, load.results  # the added replicas took traffic
    assert len(grown) == 4 and len(shrunk) == 1 and shrunk <= grown
    assert draining == grown - shrunk
    assert DiscoveredEndpoint.objects.filter(binding__upstream__name="kscale").count() == 1


def _flap(cluster, rounds: int) -> None:
    """Rewrite the Service's slices without changing its endpoints: relabel, annotate, delete (the
    simulated controller recreates a deleted slice with the same endpoint)."""
    discovery = client.DiscoveryV1Api(cluster.admin)
    for n in range(rounds):
        slices = discovery.list_namespaced_endpoint_slice(
            "shop", label_selector="kubernetes.io/service-name=web"
        )
        for item in slices.items:
            patch = {"metadata": {"annotations": {"flap": str(n)}, "labels": {"flap": str(n)}}}
            discovery.patch_namespaced_endpoint_slice(item.metadata.name, "shop", patch)
        discovery.delete_namespaced_endpoint_slice(slices.items[n % len(slices.items)].metadata.name, "shop")
        time.sleep(0.3)


def test_endpoint_flaps_of_an_unchanged_set_do_not_reload(k8s, pools, dataplane):
    cluster = k8s.start("beta", watched=["shop", "other"])
    cluster.deploy("shop", "web", replicas=2)
    url = pools.pool("kflap", [])
    binding = cluster.bind("kflap", "shop", "web")
    wait_servers("kflap", 2)
    pools.wait()
    generation = DesiredState.objects.get(pk=1).generation
    revisions, workers = ConfigRevision.objects.count(), nginx_workers(dataplane)
    synced_before = ServiceBinding.objects.get(pk=binding.pk).synced_at
    with Load(url, threads=2) as load:
        _flap(cluster, 6)
        # A binding added on the same cluster restarts its watcher: every namespace is listed again.
        cluster.bind("kflap", "other", "web")
        time.sleep(3)  # the removal grace (1 s) and the re-list are over
    binding.refresh_from_db()
    assert binding.synced_at > synced_before  # the flaps were seen and synced
    assert DesiredState.objects.get(pk=1).generation == generation
    assert ConfigRevision.objects.count() == revisions
    assert nginx_workers(dataplane) == workers
    assert load.errors == {}, load.results
    # A real change still goes through, so the silence above was not a dead watcher.
    cluster.scale("shop", "web", 3)
    wait_servers("kflap", 3)
    pools.wait()
    assert ConfigRevision.objects.count() > revisions
    assert nginx_workers(dataplane) != workers


def test_the_watch_survives_an_api_server_restart(k8s, pools):
    cluster = k8s.start("gamma", watched=["shop"])
    cluster.deploy("shop", "web", replicas=2)
    pools.pool("krestart", [])
    cluster.bind("krestart", "shop", "web")
    before = wait_servers("krestart", 2)
    cluster.restart()
    cluster.model.refresh_from_db()
    wait_until(
        lambda: (
            cluster.ready_endpoints("shop", "web")
            and servers("krestart") == cluster.ready_endpoints("shop", "web")
        ),
        20,
        "servers of the restarted replicas",
    )
    # The watch is back (resumed, or re-listed if its position expired): a scale-up still arrives.
    cluster.scale("shop", "web", 3)
    after = wait_servers("krestart", 3)
    assert after == cluster.ready_endpoints("shop", "web")
    assert len(before) == 2
    cluster.model.refresh_from_db()
    assert cluster.model.status == "connected" and cluster.model.simulated
