"""A minimal OpenAPI v3 document set: enough for kubectl to learn what the server supports.

Before ``kubectl create -f``/``apply`` sends an object it checks, in ``/openapi/v3``, whether
the PATCH operation of that kind accepts the ``fieldValidation`` query parameter; if so it
leaves validation to the server (which kubesim does, against the official schemas). So each
group-version document lists every path and operation with its ``x-kubernetes-group-version-kind``
and ``x-kubernetes-action`` and the common query parameters, but carries no model schemas.
"""

from __future__ import annotations

from .resources import GIT_VERSION, RESOURCES, ResourceType

_QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "pretty")


def _prefix(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def root_document() -> dict:
    prefixes = sorted({_prefix(r.group, r.version) for r in RESOURCES})
    paths = {p: {"serverRelativeURL": f"/openapi/v3/{p}?hash=kubesim-{GIT_VERSION}"} for p in prefixes}
    return {"paths": paths}


def _operation(rt: ResourceType, action: str) -> dict:
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    params = [
        {"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}} for n in _QUERY_PARAMS
    ]
    return {
        "operationId": f"{action}{rt.kind}",
        "description": f"{action} {rt.kind} (kubesim simulated API)",
        "parameters": params,
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }


def _paths(rt: ResourceType) -> dict:
    base = f"/{_prefix(rt.group, rt.version)}"
    collection = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
    paths = {
        collection: {
            "get": _operation(rt, "list"),
            "post": _operation(rt, "post"),
            "delete": _operation(rt, "deletecollection"),
        },
        f"{collection}/{{name}}": {
            verb: _operation(rt, action)
            for verb, action in (("get", "get"), ("put", "put"), ("patch", "patch"), ("delete", "delete"))
        },
    }
    return paths


def group_version_document(prefix: str) -> dict | None:
    served = [r for r in RESOURCES if _prefix(r.group, r.version) == prefix]
    if not served:
        return None
    paths: dict = {}
    for rt in served:
        paths.update(_paths(rt))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (kubesim, simulated)", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    }
