"""A restarted kubesim keeps its objects (snapshot in the state dir) and its kubeconfig."""

from __future__ import annotations

from kubernetes import client

from tests.kubesim import manifests
from tests.kubesim.harness import KubeSim


def test_objects_and_resource_versions_survive_a_restart(tmp_path):
    state = tmp_path / "state"
    with KubeSim.start(state, token="restart-token") as first:
        core = client.CoreV1Api(first.api_client())
        core.create_namespace({"metadata": {"name": "kept"}})
        created = core.create_namespaced_service("kept", manifests.service("web", {"app": "web"}))

    with KubeSim.start(state, token="restart-token") as second:
        core = client.CoreV1Api(second.api_client())
        service = core.read_namespaced_service("web", "kept")
        assert service.metadata.uid == created.metadata.uid
        assert service.spec.cluster_ip == created.spec.cluster_ip
        later = core.create_namespaced_service("kept", manifests.service("api", {"app": "api"}))
        assert int(later.metadata.resource_version) > int(created.metadata.resource_version)
