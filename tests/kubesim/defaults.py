"""Server-side defaulting, as the real API server does before storing an object.

Only the defaults that readers of these objects commonly rely on are filled in (replicas,
strategy, service type and ports, HPA metrics and behaviour…), so that what a client reads back
looks like what a cluster would return.
"""

from __future__ import annotations

import copy
import ipaddress

from .resources import SIMULATED_ANNOTATION

# Simulated ClusterIPs come from the default service CIDR; nothing routes them, they are labels.
_SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/16")


def apply_defaults(obj: dict, used_cluster_ips: set[str]) -> None:
    defaulter = _DEFAULTERS.get(obj["kind"])
    if defaulter:
        defaulter(obj, used_cluster_ips)


def _namespace(obj: dict, _used: set[str]) -> None:
    meta = obj["metadata"]
    meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
    meta.setdefault("annotations", {})[SIMULATED_ANNOTATION] = "true"
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


def allocate_cluster_ip(used: set[str]) -> str:
    for host in _SERVICE_CIDR.hosts():
        candidate = str(host)
        if candidate != "10.96.0.1" and candidate not in used:
            return candidate
    raise RuntimeError("simulated service CIDR exhausted")


def _service(obj: dict, used: set[str]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        if not spec.get("clusterIP"):
            spec["clusterIP"] = allocate_cluster_ip(used)
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    obj.setdefault("status", {}).setdefault("loadBalancer", {})


def _pod_template(template: dict) -> None:
    pod = template.setdefault("spec", {})
    pod.setdefault("restartPolicy", "Always")
    pod.setdefault("terminationGracePeriodSeconds", 30)
    pod.setdefault("dnsPolicy", "ClusterFirst")
    pod.setdefault("schedulerName", "default-scheduler")
    pod.setdefault("securityContext", {})
    for container in pod.get("containers") or []:
        image = container.get("image", "")
        latest = image.endswith(":latest") or ":" not in image
        container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")


def _deployment(obj: dict, _used: set[str]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    rolling = {"maxSurge": "25%", "maxUnavailable": "25%"}
    spec.setdefault("strategy", {"type": "RollingUpdate", "rollingUpdate": rolling})
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    if isinstance(spec.get("template"), dict):
        _pod_template(spec["template"])
    obj.setdefault("status", {})


def _endpoint_slice(obj: dict, _used: set[str]) -> None:
    for port in obj.get("ports") or []:
        port.setdefault("protocol", "TCP")


_DEFAULT_BEHAVIOR = {
    "scaleUp": {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    },
    "scaleDown": {
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    },
}


def _hpa(obj: dict, _used: set[str]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        cpu = {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}
        spec["metrics"] = [{"type": "Resource", "resource": cpu}]
    behavior = spec.setdefault("behavior", {})
    for direction, default in _DEFAULT_BEHAVIOR.items():
        behavior.setdefault(direction, copy.deepcopy(default))
    # No HPA controller runs in kubesim; this is the status a freshly created HPA shows.
    obj.setdefault("status", {"currentReplicas": 0, "desiredReplicas": 0})


_DEFAULTERS = {
    "Namespace": _namespace,
    "Service": _service,
    "Deployment": _deployment,
    "EndpointSlice": _endpoint_slice,
    "HorizontalPodAutoscaler": _hpa,
}
