"""Bearer-token authentication (401) and the minimal RBAC rules (403)."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from tests.kubesim import manifests


def _limited(sim, limited_token: str) -> client.ApiClient:
    return sim.api_client(token=limited_token)


@pytest.fixture(scope="module")
def rbac_namespaces(sim):
    core = client.CoreV1Api(sim.api_client())
    apps = client.AppsV1Api(sim.api_client())
    for name in ("rbac-allowed", "rbac-other"):
        core.create_namespace({"metadata": {"name": name}})
        apps.create_namespaced_deployment(name, manifests.deployment("web", replicas=0))


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic dXNlcjpwYXNz"])
def test_requests_without_a_valid_token_are_401(http, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = http("GET", "/api/v1/namespaces", token=None, headers=headers)
    assert response.status_code == 401
    assert response.json()["reason"] == "Unauthorized"


def test_version_and_health_need_no_token(http):
    assert http("GET", "/version", token=None).json()["gitVersion"] == "v1.33.0-kubesim"
    assert http("GET", "/healthz", token=None).text == "ok"


def test_discovery_needs_a_token(http):
    assert http("GET", "/apis", token=None).status_code == 401
    groups = {g["name"] for g in http("GET", "/apis").json()["groups"]}
    assert groups == {"apps", "autoscaling", "discovery.k8s.io"}


def test_limited_user_may_do_what_its_rules_allow(sim, limited_token, rbac_namespaces):
    apps = client.AppsV1Api(_limited(sim, limited_token))
    assert apps.read_namespaced_deployment("web", "rbac-allowed").metadata.name == "web"
    scale = apps.patch_namespaced_deployment_scale("web", "rbac-allowed", {"spec": {"replicas": 0}})
    assert scale.spec.replicas == 0


@pytest.mark.parametrize(
    ("action", "verb", "resource"),
    [
        (lambda apps: apps.read_namespaced_deployment("web", "rbac-other"), "get", "deployments"),
        (lambda apps: apps.delete_namespaced_deployment("web", "rbac-allowed"), "delete", "deployments"),
        (
            lambda apps: apps.replace_namespaced_deployment_scale("web", "rbac-allowed", {}),
            "update",
            "deployments/scale",
        ),
        (lambda apps: apps.list_deployment_for_all_namespaces(), "list", "deployments"),
    ],
)
def test_limited_user_is_forbidden_everything_else(
    sim, limited_token, rbac_namespaces, action, verb, resource
):
    with pytest.raises(client.ApiException) as caught:
        action(client.AppsV1Api(_limited(sim, limited_token)))
    status = json.loads(caught.value.body)
    assert caught.value.status == 403
    assert status["reason"] == "Forbidden"
    assert f'User "autoscaler" cannot {verb} resource "{resource}" in API group "apps"' in status["message"]


def test_limited_user_cannot_touch_other_resources(sim, limited_token, rbac_namespaces):
    with pytest.raises(client.ApiException) as caught:
        client.CoreV1Api(_limited(sim, limited_token)).list_namespaced_service("rbac-allowed")
    assert caught.value.status == 403
