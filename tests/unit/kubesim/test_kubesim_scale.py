"""The Deployment ``scale`` subresource and the three patch flavours."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from tests.kubesim import manifests

MERGE = "application/merge-patch+json"


@pytest.fixture
def deployment(apps, namespace):
    # No kubesim.lb/command annotation: nothing runs, so only the API semantics are exercised.
    return apps.create_namespaced_deployment(namespace, manifests.deployment("web", replicas=2))


def test_read_scale_reflects_the_deployment(apps, namespace, deployment):
    scale = apps.read_namespaced_deployment_scale("web", namespace)
    assert scale.kind == "Scale" and scale.api_version == "autoscaling/v1"
    assert scale.spec.replicas == 2
    assert scale.status.selector == "app=web"
    assert scale.metadata.uid == deployment.metadata.uid


@pytest.mark.parametrize("content_type", [MERGE, None])  # None: the client's strategic merge patch
def test_patching_scale_changes_replicas(apps, namespace, deployment, content_type):
    forced = {"_content_type": content_type} if content_type else {}
    scale = apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 4}}, **forced)
    assert scale.spec.replicas == 4
    updated = apps.read_namespaced_deployment("web", namespace)
    assert updated.spec.replicas == 4
    assert updated.metadata.generation == 2


def test_json_patch_on_scale(apps, namespace, deployment):
    operations = [
        {"op": "test", "path": "/spec/replicas", "value": 2},
        {"op": "replace", "path": "/spec/replicas", "value": 6},
    ]
    assert apps.patch_namespaced_deployment_scale("web", namespace, operations).spec.replicas == 6


def test_failed_json_patch_test_changes_nothing(apps, namespace, deployment):
    with pytest.raises(client.ApiException) as caught:
        apps.patch_namespaced_deployment_scale(
            "web", namespace, [{"op": "test", "path": "/spec/replicas", "value": 9}]
        )
    assert caught.value.status == 422
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 2


def test_replace_scale_with_stale_resource_version_is_a_409(apps, namespace, deployment):
    scale = apps.read_namespaced_deployment_scale("web", namespace)
    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 3}})
    scale.spec.replicas = 7
    with pytest.raises(client.ApiException) as caught:
        apps.replace_namespaced_deployment_scale("web", namespace, scale)
    assert caught.value.status == 409
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 3


def test_replace_scale_with_current_resource_version_succeeds(apps, namespace, deployment):
    scale = apps.read_namespaced_deployment_scale("web", namespace)
    scale.spec.replicas = 5
    assert apps.replace_namespaced_deployment_scale("web", namespace, scale).spec.replicas == 5


def test_patch_carrying_a_stale_resource_version_is_a_409(apps, namespace, deployment):
    stale = deployment.metadata.resource_version
    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 3}})
    with pytest.raises(client.ApiException) as caught:
        apps.patch_namespaced_deployment_scale(
            "web",
            namespace,
            {"metadata": {"resourceVersion": stale}, "spec": {"replicas": 1}},
            _content_type=MERGE,
        )
    assert caught.value.status == 409


def test_negative_replicas_are_invalid(http, namespace, deployment):
    response = http(
        "PATCH",
        f"/apis/apps/v1/namespaces/{namespace}/deployments/web/scale",
        {"spec": {"replicas": -1}},
        headers={"Content-Type": MERGE},
    )
    assert response.status_code == 422
    assert response.json()["details"]["kind"] == "Scale"


def test_strategic_merge_patch_merges_containers_by_name(apps, namespace, deployment):
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "demo:2"}]}}}}
    patched = apps.patch_namespaced_deployment("web", namespace, patch)
    containers = patched.spec.template.spec.containers
    assert [(c.name, c.image) for c in containers] == [("app", "demo:2")]
    assert containers[0].termination_message_path == "/dev/termination-log"  # kept, not replaced


def test_merge_patch_replaces_lists(http, namespace, deployment):
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "other", "image": "x:1"}]}}}}
    response = http(
        "PATCH",
        f"/apis/apps/v1/namespaces/{namespace}/deployments/web",
        patch,
        headers={"Content-Type": MERGE},
    )
    assert [c["name"] for c in response.json()["spec"]["template"]["spec"]["containers"]] == ["other"]


def test_unsupported_patch_type_is_415(http, namespace, deployment):
    response = http(
        "PATCH",
        f"/apis/apps/v1/namespaces/{namespace}/deployments/web",
        data=json.dumps({"spec": {}}),
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert response.status_code == 415
