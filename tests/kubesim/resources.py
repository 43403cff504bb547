"""The resource types kubesim serves, and the discovery documents that describe them.

One table drives routing, storage keys, RBAC names, Table printing and discovery, so a resource
added here is served everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The Kubernetes minor version whose OpenAPI schemas validate every write. /version reports it too,
# with a "-kubesim" suffix so nobody mistakes the simulator for a cluster.
KUBE_MAJOR = "1"
KUBE_MINOR = "33"
GIT_VERSION = f"v{KUBE_MAJOR}.{KUBE_MINOR}.0-kubesim"

SIMULATED_ANNOTATION = "kubesim.lb/simulated"


@dataclass(frozen=True)
class ResourceType:
    """One served resource: where it lives in the URL space and what it is called."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = field(
        default=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    )

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def group_resource(self) -> str:
        """The name used in messages and RBAC, e.g. ``deployments.apps`` (core has no suffix)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def key(self) -> str:
        return f"{self.group}/{self.plural}"


RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "namespaces", "Namespace", False, "namespace", ("ns",), (), ("status",)),
    ResourceType("", "v1", "services", "Service", True, "service", ("svc",), ("all",), ("status",)),
    ResourceType("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, "endpointslice"),
    ResourceType(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        True,
        "deployment",
        ("deploy",),
        ("all",),
        ("scale", "status"),
    ),
    ResourceType(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        True,
        "horizontalpodautoscaler",
        ("hpa",),
        ("all",),
        ("status",),
    ),
)

_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    return _BY_PATH.get((group, version, plural))


def by_kind(kind: str) -> ResourceType:
    return next(r for r in RESOURCES if r.kind == kind)


def group_versions() -> dict[str, list[str]]:
    """Named API groups (core excluded) and the versions served for each."""
    groups: dict[str, list[str]] = {}
    for r in RESOURCES:
        if r.group and r.version not in groups.setdefault(r.group, []):
            groups[r.group].append(r.version)
    return groups


def version_document() -> dict:
    return {
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "gitVersion": GIT_VERSION,
        "gitCommit": "kubesim-simulated",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "none (kubesim is a Python simulation)",
        "compiler": "kubesim",
        "platform": "linux/simulated",
    }


def core_versions_document(server_address: str) -> dict:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group_document(group: str) -> dict:
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in group_versions()[group]]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": versions,
        "preferredVersion": versions[0],
    }


def api_group_list_document() -> dict:
    groups = [api_group_document(g) for g in group_versions()]
    for g in groups:
        del g["kind"], g["apiVersion"]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _subresource_entries(r: ResourceType) -> list[dict]:
    entries = []
    for sub in r.subresources:
        entry = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced}
        if sub == "scale":
            # The scale client in kubectl reads group/version/kind from here to decode the answer.
            entry.update(group="autoscaling", version="v1", kind="Scale", verbs=["get", "patch", "update"])
        else:
            entry.update(kind=r.kind, verbs=["get", "patch", "update"])
        entries.append(entry)
    return entries


def resource_list_document(group: str, version: str) -> dict | None:
    served = [r for r in RESOURCES if r.group == group and r.version == version]
    if not served:
        return None
    resources = []
    for r in served:
        entry = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        resources.append(entry)
        resources.extend(_subresource_entries(r))
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
