"""Server-side ``Table`` rendering, which is what ``kubectl get`` prints.

kubectl asks for ``application/json;as=Table;v=v1;g=meta.k8s.io`` and prints the cells the
server computed. The columns mirror the real printers for each kind, so a human reading
``kubectl get`` output sees familiar columns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from .resources import ResourceType


def human_duration(seconds: float) -> str:
    """Age as kubectl prints it (apimachinery ``duration.HumanDuration``)."""
    s = int(max(seconds, 0))
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d" if days < 730 else f"{days // 365}y"


def _age(obj: dict) -> str:
    created = obj["metadata"].get("creationTimestamp")
    if not created:
        return "<unknown>"
    then = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return human_duration((datetime.now(UTC) - then).total_seconds())


def _service_ports(obj: dict) -> str:
    return (
        ",".join(f"{p['port']}/{p.get('protocol', 'TCP')}" for p in obj["spec"].get("ports") or [])
        or "<none>"
    )


def _slice_ports(obj: dict) -> str:
    return ",".join(str(p.get("port")) for p in obj.get("ports") or []) or "<unset>"


def _slice_endpoints(obj: dict) -> str:
    # Every simulated endpoint is 127.0.0.1 on its own port, so show address:port to tell them apart.
    port = (obj.get("ports") or [{}])[0].get("port")
    shown = [f"{a}:{port}" if port else a for e in obj.get("endpoints") or [] for a in e.get("addresses", [])]
    return ",".join(shown) or "<none>"


def _selector(selector: dict | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items())) or "<none>"


def _hpa_targets(obj: dict) -> str:
    targets = []
    for metric in obj["spec"].get("metrics") or []:
        target = (metric.get(metric["type"][0].lower() + metric["type"][1:]) or {}).get("target") or {}
        value = target.get("averageUtilization")
        shown = f"{value}%" if value is not None else target.get("averageValue") or target.get("value", "?")
        targets.append(f"<unknown>/{shown}")
    return ", ".join(targets) or "<none>"


def _deployment_ready(obj: dict) -> str:
    status = obj.get("status") or {}
    return f"{status.get('readyReplicas', 0)}/{obj['spec'].get('replicas', 0)}"


Column = tuple[str, str, Callable[[dict], object]]

_COLUMNS: dict[str, list[Column]] = {
    "Namespace": [("Status", "string", lambda o: (o.get("status") or {}).get("phase", ""))],
    "Service": [
        ("Type", "string", lambda o: o["spec"].get("type", "")),
        ("Cluster-IP", "string", lambda o: o["spec"].get("clusterIP", "<none>")),
        ("External-IP", "string", lambda o: "<none>"),
        ("Port(s)", "string", _service_ports),
    ],
    "EndpointSlice": [
        ("AddressType", "string", lambda o: o.get("addressType", "")),
        ("Ports", "string", _slice_ports),
        ("Endpoints", "string", _slice_endpoints),
    ],
    "Deployment": [
        ("Ready", "string", _deployment_ready),
        ("Up-to-date", "integer", lambda o: (o.get("status") or {}).get("updatedReplicas", 0)),
        ("Available", "integer", lambda o: (o.get("status") or {}).get("availableReplicas", 0)),
    ],
    "HorizontalPodAutoscaler": [
        ("Reference", "string", lambda o: "{kind}/{name}".format(**o["spec"]["scaleTargetRef"])),
        ("Targets", "string", _hpa_targets),
        ("MinPods", "string", lambda o: o["spec"].get("minReplicas", 1)),
        ("MaxPods", "integer", lambda o: o["spec"]["maxReplicas"]),
        ("Replicas", "integer", lambda o: (o.get("status") or {}).get("currentReplicas", 0)),
    ],
}

# Columns only shown with ``-o wide`` (priority 1).
_WIDE: dict[str, list[Column]] = {
    "Service": [("Selector", "string", lambda o: _selector(o["spec"].get("selector")))],
    "Deployment": [
        ("Selector", "string", lambda o: _selector(o["spec"]["selector"].get("matchLabels"))),
    ],
}


def _columns(kind: str) -> list[tuple[Column, int]]:
    name: Column = ("Name", "string", lambda o: o["metadata"]["name"])
    age: Column = ("Age", "string", _age)
    return (
        [(name, 0)]
        + [(c, 0) for c in _COLUMNS.get(kind, [])]
        + [(age, 0)]
        + [(c, 1) for c in _WIDE.get(kind, [])]
    )


def _row_object(obj: dict, include_object: str) -> dict | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return partial_metadata(obj)


def partial_metadata(obj: dict) -> dict:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def to_table(
    rt: ResourceType, objects: list[dict], list_meta: dict, include_object: str = "Metadata"
) -> dict:
    columns = _columns(rt.kind)
    definitions = [
        {
            "name": name,
            "type": kind,
            "format": "name" if name == "Name" else "",
            "description": f"{name} (kubesim simulated)",
            "priority": priority,
        }
        for (name, kind, _), priority in columns
    ]
    rows = []
    for obj in objects:
        row: dict = {"cells": [render(obj) for (_, _, render), _ in columns]}
        shown = _row_object(obj, include_object)
        if shown is not None:
            row["object"] = shown
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": definitions,
        "rows": rows,
    }
