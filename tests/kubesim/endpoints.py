"""What the simulated EndpointSlice controller wants to exist, computed from Services and pods.

An EndpointSlice's ``ports`` apply to every endpoint in it, and in kubesim every replica has its
own port on 127.0.0.1. The real controller's rule for pods whose target ports differ is to put
them in separate slices, so kubesim writes **one slice per ready-or-not replica** (named
``<service>-<hash>``), each with one endpoint, plus an empty placeholder slice when a Service
selects no pods — what the real controller does too. Consumers must therefore join all slices
labelled ``kubernetes.io/service-name=<service>``, exactly as they must on a real cluster.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .resources import SIMULATED_ANNOTATION

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGER = "kubesim-kubelet"  # a label value: no "/" allowed
NODE_NAME = "kubesim-node"


@dataclass(frozen=True)
class PodView:
    """The facts about one replica that endpoints are built from."""

    name: str
    uid: str
    namespace: str
    labels: dict[str, str]
    port: int
    serving: bool
    terminating: bool


def selects(service: dict, pod: PodView) -> bool:
    selector = service["spec"].get("selector") or {}
    return (
        bool(selector)
        and pod.namespace == service["metadata"]["namespace"]
        and all(pod.labels.get(k) == v for k, v in selector.items())
    )


def _slice(service: dict, name: str, endpoints: list[dict], ports: list[dict]) -> dict:
    meta = service["metadata"]
    owner = {
        "apiVersion": "v1",
        "kind": "Service",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": {SERVICE_NAME_LABEL: meta["name"], MANAGED_BY_LABEL: MANAGER},
            "annotations": {SIMULATED_ANNOTATION: "true"},
            "ownerReferences": [owner],
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    }


def _endpoint(pod: PodView) -> dict:
    return {
        "addresses": ["127.0.0.1"],
        # Upstream semantics: ready = serving and not terminating.
        "conditions": {
            "ready": pod.serving and not pod.terminating,
            "serving": pod.serving,
            "terminating": pod.terminating,
        },
        "targetRef": {"kind": "Pod", "namespace": pod.namespace, "name": pod.name, "uid": pod.uid},
        "nodeName": NODE_NAME,
    }


def _ports(service: dict, pod: PodView) -> list[dict]:
    ports = []
    for sp in service["spec"].get("ports") or []:
        port = {"name": sp.get("name", ""), "protocol": sp.get("protocol", "TCP"), "port": pod.port}
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        ports.append(port)
    return ports


def slice_name(service_name: str, pod_name: str) -> str:
    return f"{service_name[:50]}-{hashlib.sha256(pod_name.encode()).hexdigest()[:8]}"


def desired_slices(service: dict, pods: list[PodView]) -> list[dict]:
    """The managed slices ``service`` should have, given every live replica."""
    name = service["metadata"]["name"]
    chosen = sorted((p for p in pods if selects(service, p)), key=lambda p: p.name)
    if not chosen:
        return [_slice(service, f"{name[:50]}-placeholder", [], [])]
    return [_slice(service, slice_name(name, p.name), [_endpoint(p)], _ports(service, p)) for p in chosen]


def differs(existing: dict, desired: dict) -> bool:
    """Whether a stored slice needs rewriting (system metadata and defaults are ignored)."""
    for key in ("addressType", "endpoints"):
        if existing.get(key) != desired.get(key):
            return True
    if (existing.get("ports") or []) != (desired.get("ports") or []):
        return True
    meta, want = existing["metadata"], desired["metadata"]
    return any(meta.get(k) != want[k] for k in ("labels", "annotations", "ownerReferences"))


def is_managed(slice_obj: dict) -> bool:
    return (slice_obj["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGER
