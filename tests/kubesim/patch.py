"""The three PATCH flavours the official clients send: JSON merge, strategic merge, JSON patch.

Strategic merge is simplified: maps merge recursively and ``null`` deletes a key, as in a merge
patch; lists that Kubernetes declares with a patch merge key (containers by ``name``, service
ports by ``port``, …) merge item by item; every other list is replaced. The ``$patch``
directives ``replace`` and ``delete`` are honoured and ``$setElementOrder``/``$retainKeys``
are accepted and ignored. That covers what kubectl and the official client generate for
the resources kubesim serves.
"""

from __future__ import annotations

import copy
import json

from .errors import ApiError, bad_request, unsupported_media_type

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"

# Field name -> patch merge key, from the Go struct tags of the served types.
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "topologySpreadConstraints": "topologyKey",
}


def apply_patch(content_type: str, target: dict, patch_text: bytes) -> dict:
    try:
        patch = json.loads(patch_text or b"null")
    except ValueError as exc:
        raise bad_request(f"invalid JSON in patch body: {exc}") from exc
    if content_type == MERGE_PATCH:
        return merge_patch(target, _require_object(patch))
    if content_type == STRATEGIC_PATCH:
        return strategic_merge_patch(target, _require_object(patch))
    if content_type == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("a JSON patch must be a list of operations")
        return json_patch(target, patch)
    raise unsupported_media_type(content_type)


def _require_object(patch: object) -> dict:
    if not isinstance(patch, dict):
        raise bad_request("a merge patch must be a JSON object")
    return patch


def merge_patch(target: object, patch: object) -> object:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _list_merge_key(field: str, items: list) -> str | None:
    if field == "ports":
        # Container ports merge on containerPort, Service and EndpointSlice ports on port/name.
        sample = next((i for i in items if isinstance(i, dict)), {})
        return "containerPort" if "containerPort" in sample else "port" if "port" in sample else None
    return _MERGE_KEYS.get(field)


def strategic_merge_patch(target: object, patch: object) -> object:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            merge_key = _list_merge_key(key, value + result[key])
            result[key] = _merge_list(result[key], value, merge_key) if merge_key else copy.deepcopy(value)
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result


def _merge_list(current: list, patch: list, merge_key: str) -> list:
    merged = copy.deepcopy(current)
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            raise bad_request(f"list item without merge key {merge_key!r} in strategic merge patch")
        index = next((i for i, c in enumerate(merged) if c.get(merge_key) == item[merge_key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                merged.pop(index)
        elif index is None:
            merged.append(strategic_merge_patch({}, item))
        else:
            merged[index] = strategic_merge_patch(merged[index], item)
    return merged


# -- RFC 6902 -----------------------------------------------------------------------------------
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: object, tokens: list[str]) -> tuple[object, str]:
    node = doc
    for token in tokens[:-1]:
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node, tokens[-1]


def _get(doc: object, path: str) -> object:
    node = doc
    for token in _pointer(path):
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _add(doc: object, path: str, value: object) -> object:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent, last = _parent(doc, tokens)
    if isinstance(parent, list):
        parent.insert(len(parent) if last == "-" else int(last), value)
    else:
        parent[last] = value
    return doc


def _remove(doc: object, path: str) -> object:
    parent, last = _parent(doc, _pointer(path))
    if isinstance(parent, list):
        parent.pop(int(last))
    else:
        del parent[last]
    return doc


def json_patch(target: dict, operations: list) -> dict:
    doc: object = copy.deepcopy(target)
    for op in operations:
        try:
            doc = _apply_operation(doc, op)
        except ApiError:
            raise
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            message = f"the server rejected our request due to an error in our request: {op} ({exc!r})"
            raise ApiError(422, "Invalid", message) from exc
    if not isinstance(doc, dict):
        raise bad_request("a JSON patch must leave an object")
    return doc


def _apply_operation(doc: object, op: dict) -> object:
    kind, path = op["op"], op["path"]
    if kind == "add":
        return _add(doc, path, copy.deepcopy(op["value"]))
    if kind == "remove":
        return _remove(doc, path)
    if kind == "replace":
        _get(doc, path)  # must exist
        return _add(_remove(doc, path), path, copy.deepcopy(op["value"]))
    if kind == "test":
        if _get(doc, path) != op["value"]:
            raise ApiError(422, "Invalid", f"testing value {path} failed")
        return doc
    if kind in ("move", "copy"):
        value = copy.deepcopy(_get(doc, op["from"]))
        if kind == "move":
            doc = _remove(doc, op["from"])
        return _add(doc, path, value)
    raise bad_request(f"unknown JSON patch operation {kind!r}")
