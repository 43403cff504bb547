"""The shape of each deployment: one beat, HA replicas in production, disruption budgets, the data plane's
Service, anti-affinity and a termination grace period longer than nginx's drain."""

from __future__ import annotations

import re

import pytest

from appliance.launcher.config import Ports
from nginx.compiler import compile_config
from nginx.model import Snapshot
from tests.charts.manifests import OVERLAYS, WORKLOAD_KINDS, find, of_kind, pod_template

APPLIANCE_OVERLAYS = ("single-node", "production")
HA_WORKLOADS = ("lb-web", "lb-worker", "lb-dataplane")


def _container(workload: dict, name: str) -> dict:
    return next(c for c in pod_template(workload)["spec"]["containers"] if c["name"] == name)


def _runs_beat(workload: dict) -> bool:
    return any("beat" in c.get("command", []) for c in pod_template(workload)["spec"]["containers"])


@pytest.mark.parametrize("overlay", APPLIANCE_OVERLAYS)
def test_there_is_exactly_one_beat_and_a_rollout_never_runs_two(rendered, overlay):
    beats = [d for d in of_kind(rendered[overlay], *WORKLOAD_KINDS) if _runs_beat(d)]
    assert [b["metadata"]["name"] for b in beats] == ["lb-beat"]
    assert beats[0]["spec"]["replicas"] == 1
    assert beats[0]["spec"]["strategy"] == {"type": "Recreate"}


def test_production_runs_every_appliance_process_and_the_payment_service_highly_available(rendered):
    docs = rendered["production"]
    for name in (*HA_WORKLOADS, "payment"):
        assert find(docs, "Deployment", name)["spec"]["replicas"] >= 2, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_replicated_service_has_a_disruption_budget_selecting_its_pods(rendered, overlay):
    docs = rendered[overlay]
    budgets = of_kind(docs, "PodDisruptionBudget")
    expected = ("payment",) if overlay == "multi-cluster" else (*HA_WORKLOADS, "payment")
    for name in expected:
        workload = find(docs, "Deployment", name)
        labels = pod_template(workload)["metadata"]["labels"]
        covering = [
            b
            for b in budgets
            if b["metadata"]["namespace"] == workload["metadata"]["namespace"]
            and b["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(covering) == 1, name
        assert covering[0]["spec"].get("maxUnavailable") == 1  # never blocks a drain, never takes two


@pytest.mark.parametrize(
    ("overlay", "service_type"), [("single-node", "NodePort"), ("production", "LoadBalancer")]
)
def test_the_data_plane_service_type_is_the_overlays_choice_and_keeps_client_addresses(
    rendered, overlay, service_type
):
    service = find(rendered[overlay], "Service", "lb-dataplane")
    assert service["spec"]["type"] == service_type
    assert service["spec"]["externalTrafficPolicy"] == "Local"
    pod_ports = {
        p["name"]: p["containerPort"]
        for p in _container(find(rendered[overlay], "Deployment", "lb-dataplane"), "nginx")["ports"]
    }
    assert {p["port"]: pod_ports[p["targetPort"]] for p in service["spec"]["ports"]} == {80: 8080, 443: 8443}


def _drain_seconds() -> int:
    main_conf = compile_config(Snapshot()).files["main.conf"]
    match = re.search(r"^worker_shutdown_timeout (\d+)s;$", main_conf, re.M)
    assert match, "the compiled main.conf no longer bounds the drain"
    return int(match.group(1))


@pytest.mark.parametrize("overlay", APPLIANCE_OVERLAYS)
def test_the_data_plane_drains_before_it_is_killed(rendered, overlay):
    dataplane = find(rendered[overlay], "Deployment", "lb-dataplane")
    pod = pod_template(dataplane)["spec"]
    pre_stop = " ".join(_container(dataplane, "nginx")["lifecycle"]["preStop"]["exec"]["command"])
    assert " -s quit" in pre_stop
    sleep = int(re.search(r"sleep (\d+);", pre_stop).group(1))
    assert pod["terminationGracePeriodSeconds"] > sleep + _drain_seconds()
    # The agent reloads nginx by signalling the master found through the pid file and /proc.
    assert pod["shareProcessNamespace"] is True


@pytest.mark.parametrize("overlay", APPLIANCE_OVERLAYS)
def test_replicated_pods_prefer_or_require_different_hosts(rendered, overlay):
    docs = rendered[overlay]
    for name in (*HA_WORKLOADS, "payment"):
        template = pod_template(find(docs, "Deployment", name))
        anti = template["spec"]["affinity"]["podAntiAffinity"]
        terms = [
            t["podAffinityTerm"] for t in anti.get("preferredDuringSchedulingIgnoredDuringExecution", [])
        ]
        terms += anti.get("requiredDuringSchedulingIgnoredDuringExecution", [])
        assert any(
            t["topologyKey"] == "kubernetes.io/hostname"
            and t["labelSelector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
            for t in terms
        ), name
    production_dataplane = pod_template(find(rendered["production"], "Deployment", "lb-dataplane"))
    assert production_dataplane["spec"]["affinity"]["podAntiAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_http_services_probe_readyz_for_readiness_and_healthz_for_liveness(rendered, overlay):
    docs = rendered[overlay]
    names = [("payment", "payment")] + ([] if overlay == "multi-cluster" else [("lb-web", "web")])
    for workload_name, container_name in names:
        container = _container(find(docs, "Deployment", workload_name), container_name)
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["port"] in {p["name"] for p in container["ports"]}


@pytest.mark.parametrize("overlay", APPLIANCE_OVERLAYS)
def test_the_node_agent_serves_its_own_queue_named_after_its_pod(rendered, overlay):
    agent = _container(find(rendered[overlay], "Deployment", "lb-dataplane"), "agent")
    argv = " ".join([*agent["command"], *agent["args"]])
    assert "-Q node.$(NODE_NAME),nodes -n agent@$(NODE_NAME)" in argv
    env = {e["name"]: e for e in agent["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["LB_NODE_NAME"]["value"] == "$(NODE_NAME)"


def _service_link_variables(service_name: str) -> set[str]:
    prefix = service_name.upper().replace("-", "_")
    return {f"{prefix}_SERVICE_HOST", f"{prefix}_SERVICE_PORT", f"{prefix}_PORT"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_pod_gets_service_link_variables_which_would_shadow_its_settings(rendered, overlay):
    docs = rendered[overlay]
    links = {
        v
        for service in of_kind(docs, "Service")
        for v in _service_link_variables(service["metadata"]["name"])
    }
    port_settings = {f"LB_{name.upper()}_PORT" for name in Ports.__dataclass_fields__}
    # Service lb-web would give every pod LB_WEB_PORT=tcp://<ip>:8000, which the appliance reads as a port.
    assert bool(links & port_settings) == (overlay != "multi-cluster")
    for workload in of_kind(docs, *WORKLOAD_KINDS):
        assert pod_template(workload)["spec"].get("enableServiceLinks") is False, workload["metadata"]["name"]
