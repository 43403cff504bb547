"""Every container runs unprivileged, read-only, with bounded resources; long-running ones have probes."""

from __future__ import annotations

import pytest

from tests.charts.manifests import (
    LONG_RUNNING_KINDS,
    OVERLAYS,
    WORKLOAD_KINDS,
    containers,
    label,
    of_kind,
    pod_template,
)

APPLIANCE_ACCOUNT = "lb-appliance"


def security_problems(pod_spec: dict, container: dict) -> list[str]:
    """What keeps `container` from the restricted profile the charts promise (empty when nothing)."""
    pod = pod_spec.get("securityContext", {})
    own = container.get("securityContext", {})
    problems = []
    if not own.get("runAsNonRoot", pod.get("runAsNonRoot")):
        problems.append("runAsNonRoot is not set")
    if own.get("runAsUser", pod.get("runAsUser")) == 0:
        problems.append("runs as uid 0")
    if own.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    if own.get("privileged"):
        problems.append("privileged")
    if own.get("readOnlyRootFilesystem") is not True:
        problems.append("root filesystem is writable")
    capabilities = own.get("capabilities", {})
    if "ALL" not in capabilities.get("drop", []) or capabilities.get("add"):
        problems.append(f"capabilities are not 'drop ALL, add nothing': {capabilities}")
    seccomp = own.get("seccompProfile", pod.get("seccompProfile", {}))
    if seccomp.get("type") != "RuntimeDefault":
        problems.append(f"seccomp profile is {seccomp or 'unset'}")
    resources = container.get("resources", {})
    for kind in ("requests", "limits"):
        if not {"cpu", "memory"} <= set(resources.get(kind, {})):
            problems.append(f"resource {kind} lack cpu or memory: {resources.get(kind)}")
    return problems


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_unprivileged_read_only_and_bounded(rendered, overlay):
    workloads = of_kind(rendered[overlay], *WORKLOAD_KINDS)
    assert workloads
    found = {}
    for workload in workloads:
        spec = pod_template(workload)["spec"]
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(flag):
                found[f"{label(workload)}"] = [f"{flag} is set"]
        for container in containers(spec):
            problems = security_problems(spec, container)
            if problems:
                found[f"{label(workload)} container {container['name']}"] = problems
    assert not found, found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_long_running_container_has_readiness_and_liveness_probes(rendered, overlay):
    missing = [
        f"{label(workload)} container {container['name']}"
        for workload in of_kind(rendered[overlay], *LONG_RUNNING_KINDS)
        for container in containers(pod_template(workload)["spec"], init=False)
        if not ("readinessProbe" in container and "livenessProbe" in container)
    ]
    assert not missing


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_control_worker_holds_an_api_token(rendered, overlay):
    with_token = {
        label(workload): pod_template(workload)["spec"].get("serviceAccountName")
        for workload in of_kind(rendered[overlay], *WORKLOAD_KINDS)
        if pod_template(workload)["spec"].get("automountServiceAccountToken") is not False
    }
    expected = (
        {}
        if overlay == "multi-cluster"
        else {f"Deployment {_appliance_ns(overlay)}/lb-worker": APPLIANCE_ACCOUNT}
    )
    assert with_token == expected


def _appliance_ns(overlay: str) -> str:
    return {"single-node": "lb-demo", "production": "lb-system"}[overlay]


def test_restricted_pod_security_is_enforced_on_every_namespace(rendered):
    namespaces = [ns for overlay in OVERLAYS for ns in of_kind(rendered[overlay], "Namespace")]
    assert {ns["metadata"]["name"] for ns in namespaces} == {"lb-demo", "lb-system", "payments"}
    for namespace in namespaces:
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_pinned_to_a_version(rendered, overlay):
    images = {
        container["image"]
        for workload in of_kind(rendered[overlay], *WORKLOAD_KINDS)
        for container in containers(pod_template(workload)["spec"])
    }
    assert images
    unpinned = {i for i in images if ":" not in i.rsplit("/", 1)[-1] or i.endswith(":latest")}
    assert not unpinned
