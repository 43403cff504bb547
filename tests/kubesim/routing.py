"""URL parsing: which resource, namespace, name and subresource a request path addresses.

Paths follow the Kubernetes layout — ``/api/v1/...`` for the core group and
``/apis/<group>/<version>/...`` for named groups, optionally ``/namespaces/<ns>/`` before the
resource, and the legacy ``/watch/`` prefix — and the HTTP method plus ``?watch`` pick the verb.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import errors, openapi
from .resources import (
    ResourceType,
    api_group_document,
    api_group_list_document,
    core_versions_document,
    group_versions,
    lookup,
    resource_list_document,
)


def flag(params: dict[str, str], name: str) -> bool:
    """A boolean query parameter, parsed like Go's strconv.ParseBool (clients send "true", "True", "1")."""
    return params.get(name, "").lower() in ("1", "t", "true")


@dataclass(frozen=True)
class Route:
    """A request path resolved to a resource (and maybe one object and a subresource)."""

    rt: ResourceType
    namespace: str
    name: str | None
    subresource: str | None
    watch_prefix: bool

    def verb(self, method: str, params: dict[str, str]) -> str:
        watching = self.watch_prefix or flag(params, "watch")
        if method == "GET":
            if watching:
                return "watch"
            return "get" if self.name else "list"
        verbs = {"POST": "create", "PUT": "update", "PATCH": "patch"}
        if method == "DELETE":
            return "delete" if self.name else "deletecollection"
        if method not in verbs or (method == "POST") == bool(self.name):
            raise errors.method_not_allowed(method)
        return verbs[method]


def _split_group_version(parts: list[str]) -> tuple[str, str, list[str]] | None:
    if parts[:2] == ["api", "v1"]:
        return "", "v1", parts[2:]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2], parts[3:]
    return None


def parse_route(path: str) -> Route:
    parts = [p for p in path.split("/") if p]
    found = _split_group_version(parts)
    if not found:
        raise errors.no_such_route()
    group, version, rest = found
    watch_prefix = bool(rest) and rest[0] == "watch"
    if watch_prefix:
        rest = rest[1:]
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        inner = lookup(group, version, rest[2])
        if inner and inner.namespaced:
            namespace, rest = rest[1], rest[2:]
    rt = lookup(group, version, rest[0]) if rest else None
    if rt is None or len(rest) > 3 or (rt.namespaced and len(rest) > 1 and not namespace):
        raise errors.no_such_route()
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if subresource and subresource not in rt.subresources:
        raise errors.no_such_route()
    return Route(rt, namespace, name, subresource, watch_prefix)


def discovery_document(path: str, server_address: str) -> dict | None:
    """The discovery answer for ``path``, or None when ``path`` is not a discovery endpoint."""
    parts = [p for p in path.split("/") if p]
    if parts == ["api"]:
        return core_versions_document(server_address)
    if parts == ["api", "v1"]:
        return resource_list_document("", "v1")
    if parts == ["apis"]:
        return api_group_list_document()
    if len(parts) == 2 and parts[0] == "apis" and parts[1] in group_versions():
        return api_group_document(parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return resource_list_document(parts[1], parts[2])
    if parts and parts[0] == "openapi":
        return _openapi_document(parts[1:])
    return None


def _openapi_document(parts: list[str]) -> dict | None:
    if parts == ["v3"]:
        return openapi.root_document()
    if len(parts) >= 3 and parts[0] == "v3":
        return openapi.group_version_document("/".join(parts[1:]))
    return None
