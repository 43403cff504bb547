"""Least privilege: the token the appliance gets in these tests holds exactly `rbac.rules` for what is
configured, and that is enough for discovery and scaling (the other tests run on it) but nothing more.
(kubesim serves no Secrets at all, so "no Secrets" is shown by the rules themselves.)"""

from __future__ import annotations

import pytest
from kubernetes import client

from appliance.k8s import rbac
from appliance.k8s.models import ScalingPolicy
from appliance.lb.models import Upstream
from tests.k8s.conftest import kubesim_rules

FORBIDDEN = 403


def _status(call) -> int:  # type: ignore[no-untyped-def]
    try:
        call()
    except client.exceptions.ApiException as exc:
        return int(exc.status)
    return 200


@pytest.fixture
def appliance_api(k8s):
    cluster = k8s.start("rbac", watched=["shop", "docs"], scaled=[("shop", "web")])
    for namespace in ("shop", "docs", "payroll"):
        cluster.deploy(namespace, "web", replicas=0)
    token = cluster.rbac["users"][0]["token"]
    return cluster.sim.api_client(token=token), cluster


def test_the_appliance_reads_slices_where_bound_and_scales_only_where_a_policy_is(appliance_api):
    api, cluster = appliance_api
    discovery, apps, core = client.DiscoveryV1Api(api), client.AppsV1Api(api), client.CoreV1Api(api)
    assert _status(lambda: discovery.list_namespaced_endpoint_slice("shop")) == 200
    assert _status(lambda: discovery.list_namespaced_endpoint_slice("docs")) == 200
    assert _status(lambda: apps.read_namespaced_deployment_scale("web", "shop")) == 200
    assert (
        _status(lambda: apps.patch_namespaced_deployment_scale("web", "shop", {"spec": {"replicas": 1}}))
        == 200
    )
    assert _status(lambda: discovery.list_namespaced_endpoint_slice("payroll")) == FORBIDDEN
    assert _status(lambda: discovery.list_endpoint_slice_for_all_namespaces()) == FORBIDDEN
    assert _status(lambda: apps.read_namespaced_deployment_scale("web", "docs")) == FORBIDDEN
    assert _status(lambda: apps.read_namespaced_deployment("web", "shop")) == FORBIDDEN
    assert _status(lambda: core.list_namespaced_service("shop")) == FORBIDDEN
    assert cluster.replicas("shop", "web") == 1


def test_the_rules_computed_from_the_configuration_are_the_ones_the_token_holds(appliance_api):
    _, cluster = appliance_api
    Upstream.objects.create(name="krbac")
    shop = cluster.bind("krbac", "shop", "web")
    cluster.bind("krbac", "docs", "web")
    ScalingPolicy.objects.create(binding=shop, deployment="web", target=10)
    assert kubesim_rules(rbac.rules_for(cluster.model)) == cluster.rbac["users"][0]["rules"]
    assert [r.resource for r in rbac.rules_for(cluster.model)] == [
        "endpointslices",
        "deployments/scale",
        "horizontalpodautoscalers",
        "endpointslices",
    ]
