"""Deployment ``status`` as the deployment controller would report it for the simulated replicas.

Zero counts are omitted, as the real API (Go ``omitempty``) omits them. Condition timestamps
only move when a condition's status or reason changes, so an unchanged Deployment is not
rewritten on every kubelet pass.
"""

from __future__ import annotations

import math

from .operations import now_rfc3339
from .replicas import Replica


def _max_unavailable(deployment: dict, desired: int) -> int:
    rolling = (deployment["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    value = rolling.get("maxUnavailable", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return math.floor(desired * int(value[:-1]) / 100)
    return int(value)


def _condition(kind: str, ok: bool, reason: str, message: str) -> dict:
    return {"type": kind, "status": "True" if ok else "False", "reason": reason, "message": message}


def _conditions(deployment: dict, available: int, updated: int, desired: int, runnable: bool) -> list[dict]:
    name = deployment["metadata"]["name"]
    if not runnable:
        why = "the pod template has no kubesim.lb/command annotation, so kubesim runs no replicas"
        return [_condition("Available", False, "KubesimNoCommand", why)]
    if available >= desired - _max_unavailable(deployment, desired):
        available_condition = _condition(
            "Available", True, "MinimumReplicasAvailable", "Deployment has minimum availability."
        )
    else:
        available_condition = _condition(
            "Available", False, "MinimumReplicasUnavailable", "Deployment does not have minimum availability."
        )
    if updated == desired and available >= desired:
        message = f'ReplicaSet "{name}" has successfully progressed.'
        progressing = _condition("Progressing", True, "NewReplicaSetAvailable", message)
    else:
        progressing = _condition(
            "Progressing", True, "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.'
        )
    return [available_condition, progressing]


def _with_timestamps(conditions: list[dict], previous: list[dict]) -> list[dict]:
    before = {c["type"]: c for c in previous}
    now = now_rfc3339()
    for condition in conditions:
        old = before.get(condition["type"])
        same = old and old["status"] == condition["status"] and old.get("reason") == condition["reason"]
        condition["lastUpdateTime"] = old["lastUpdateTime"] if same else now
        condition["lastTransitionTime"] = old["lastTransitionTime"] if same else now
    return conditions


def deployment_status(deployment: dict, replicas: list[Replica], current_hash: str, runnable: bool) -> dict:
    """Status for ``deployment`` given its non-terminating replicas."""
    desired = deployment["spec"].get("replicas", 1)
    ready = sum(r.ready for r in replicas)
    updated = sum(r.template_hash == current_hash for r in replicas)
    counts = {
        "replicas": len(replicas),
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "unavailableReplicas": max(0, desired - ready),
    }
    status: dict = {"observedGeneration": deployment["metadata"].get("generation", 1)}
    status.update({k: v for k, v in counts.items() if v})
    previous = (deployment.get("status") or {}).get("conditions") or []
    status["conditions"] = _with_timestamps(
        _conditions(deployment, ready, updated, desired, runnable), previous
    )
    return status


def status_differs(old: dict, new: dict) -> bool:
    def strip(status: dict) -> dict:
        conditions = [
            {k: v for k, v in c.items() if k not in ("lastUpdateTime", "lastTransitionTime")}
            for c in status.get("conditions") or []
        ]
        return {**status, "conditions": conditions}

    return strip(old) != strip(new)
