"""Small builders for the manifests tests create against kubesim.

``runnable_annotations`` produces the pod-template annotations the simulated kubelet reads (see
``replicas.py``); the rest are plain Kubernetes objects as dicts, accepted by the official
client's ``create_*`` calls and by ``kubectl create -f`` alike.
"""

from __future__ import annotations

import json


def runnable_annotations(
    argv: list[str],
    port_range: str,
    readiness_path: str | None = None,
    env: dict[str, str] | None = None,
    pre_stop_seconds: float | None = None,
) -> dict[str, str]:
    annotations = {"kubesim.lb/command": json.dumps(argv), "kubesim.lb/port-range": port_range}
    if readiness_path:
        annotations["kubesim.lb/readiness-path"] = readiness_path
    if env:
        annotations["kubesim.lb/env"] = json.dumps(env)
    if pre_stop_seconds is not None:
        annotations["kubesim.lb/pre-stop-seconds"] = str(pre_stop_seconds)
    return annotations


def deployment(
    name: str,
    replicas: int = 1,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict:
    labels = labels or {"app": name}
    template_meta: dict = {"labels": labels}
    if annotations:
        template_meta["annotations"] = annotations
    container = {"name": "app", "image": "kubesim.invalid/simulated:1"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": template_meta, "spec": {"containers": [container]}},
        },
    }


def service(name: str, selector: dict[str, str], port_name: str = "http", port: int = 80) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": selector, "ports": [{"name": port_name, "port": port}]},
    }


def hpa(name: str, deployment_name: str, max_replicas: int = 5) -> dict:
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment_name}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {"scaleTargetRef": target, "minReplicas": 1, "maxReplicas": max_replicas},
    }
