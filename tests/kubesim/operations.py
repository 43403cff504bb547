"""The verbs of the API (get, list, create, update, patch, delete, scale) with the real semantics.

This is the apiserver's "registry" layer: it fills system metadata, applies defaults, keeps
``status`` apart from the main resource, bumps ``metadata.generation`` on spec changes, enforces
optimistic concurrency (409 on a stale resourceVersion), validates, and only then stores.
Every read-modify-write runs under the store lock, so concurrent writers see the same
conflicts a real server would give them. The HTTP layer and the simulated kubelet both go
through here.
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from . import errors, selectors
from .defaults import apply_defaults
from .patch import apply_patch
from .resources import RESOURCES, ResourceType, by_kind
from .store import Store
from .validation import cause as validation_cause
from .validation import validate

_SYSTEM_FIELDS = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "generation",
    "selfLink",
)
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet apimachinery uses for generated names
_SCALE_META = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
NAMESPACES = by_kind("Namespace")
SERVICES = by_kind("Service")
DEPLOYMENTS = by_kind("Deployment")


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(_NAME_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class ListQuery:
    """The list options of a request (``ListOptions`` in apimachinery)."""

    label_selector: str | None = None
    field_selector: str | None = None
    limit: int = 0
    continue_token: str | None = None
    resource_version: str | None = None
    resource_version_match: str | None = None


def parse_rv(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise errors.bad_request(f"invalid resource version: {text!r}") from None


def _spec_part(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _position(obj: dict) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def _encode_continue(rv: int, last: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": list(last)}).encode()).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (data["start"][0], data["start"][1])
    except (ValueError, KeyError, IndexError, TypeError):
        raise errors.bad_request("continue key is not valid") from None


class Operations:
    """The API verbs over one ``Store``."""

    def __init__(self, store: Store):
        self.store = store

    # -- reads -------------------------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str, name: str) -> dict:
        obj = self.store.get(rt.key, namespace, name)
        if obj is None:
            raise errors.not_found(rt, name)
        return obj

    def list(self, rt: ResourceType, namespace: str, query: ListQuery) -> dict:
        labels = selectors.parse_label_selector(query.label_selector)
        fields = selectors.parse_field_selector(query.field_selector)
        items, rv, start_after = self._list_source(rt, query)
        items = [
            o
            for o in items
            if (not namespace or o["metadata"].get("namespace") == namespace)
            and selectors.matches(labels, o["metadata"].get("labels"))
            and fields(o)
        ]
        if start_after:
            items = [o for o in items if _position(o) > start_after]
        meta: dict = {"resourceVersion": str(rv)}
        if query.limit and len(items) > query.limit:
            rest = len(items) - query.limit
            items = items[: query.limit]
            meta["continue"] = _encode_continue(rv, _position(items[-1]))
            meta["remainingItemCount"] = rest
        return {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta, "items": items}

    def _list_source(
        self, rt: ResourceType, query: ListQuery
    ) -> tuple[list[dict], int, tuple[str, str] | None]:
        with self.store.lock:
            if query.continue_token:
                rv, start_after = _decode_continue(query.continue_token)
                try:
                    return self.store.items_at(rt.key, rv), rv, start_after
                except errors.ApiError:
                    raise errors.expired(
                        "The provided continue parameter is too old to display a consistent list result. "
                        "You can start a new list without the continue parameter."
                    ) from None
            if query.resource_version_match == "Exact" and query.resource_version:
                rv = parse_rv(query.resource_version)
                return self.store.items_at(rt.key, rv), rv, None
            if query.resource_version not in (None, "", "0"):
                rv = parse_rv(query.resource_version)
                if rv > self.store.rv:
                    message = f"Too large resource version: {rv}, current: {self.store.rv}"
                    raise errors.ApiError(504, "Timeout", message)
            return self.store.items(rt.key), self.store.rv, None

    # -- create ------------------------------------------------------------------------------
    def create(self, rt: ResourceType, namespace: str, body: dict, dry_run: bool = False) -> dict:
        obj = self._normalise_body(rt, namespace, body)
        meta = obj["metadata"]
        for field in _SYSTEM_FIELDS:
            meta.pop(field, None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + random_suffix()
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=now_rfc3339(), generation=1)
        with self.store.lock:
            if rt.namespaced and self.store.get(NAMESPACES.key, "", namespace) is None:
                raise errors.namespace_not_found(namespace)
            apply_defaults(obj, self._used_cluster_ips())
            self._validate(rt, obj)
            if self.store.get(rt.key, namespace, meta["name"]) is not None:
                raise errors.already_exists(rt, meta["name"])
            if dry_run:
                return obj
            return self.store.put(rt.key, obj)

    def _normalise_body(self, rt: ResourceType, namespace: str, body: dict) -> dict:
        obj = copy.deepcopy(body)
        kind = obj.setdefault("kind", rt.kind)
        if kind != rt.kind or obj.setdefault("apiVersion", rt.api_version) != rt.api_version:
            raise errors.bad_request(
                f"the API version in the data ({obj['apiVersion']}) and kind ({obj['kind']}) do not match "
                f"the request ({rt.api_version}, {rt.kind})"
            )
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if rt.namespaced:
            if meta.setdefault("namespace", namespace) != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
        else:
            meta.pop("namespace", None)
        return obj

    def _used_cluster_ips(self, exclude: str | None = None) -> set[str]:
        return {
            s["spec"].get("clusterIP", "")
            for s in self.store.items(SERVICES.key)
            if s["metadata"]["uid"] != exclude
        }

    def _validate(self, rt: ResourceType, obj: dict) -> None:
        causes = validate(obj)
        if causes:
            raise errors.invalid(rt.group, rt.kind, obj["metadata"].get("name", ""), causes)

    # -- update ------------------------------------------------------------------------------
    def update(self, rt: ResourceType, namespace: str, name: str, body: dict, dry_run: bool = False) -> dict:
        obj = self._normalise_body(rt, namespace, body)
        if obj["metadata"].setdefault("name", name) != name:
            given = obj["metadata"]["name"]
            message = f"the name of the object ({given}) does not match the name on the URL ({name})"
            raise errors.bad_request(message)
        with self.store.lock:
            current = self.get(rt, namespace, name)
            self._check_rv(rt, current, obj)
            return self._replace(rt, current, obj, dry_run)

    @staticmethod
    def _check_rv(rt: ResourceType, current: dict, incoming: dict) -> None:
        # An update that names a resourceVersion is conditional on it (optimistic concurrency);
        # one without is unconditional, which Deployments, Services and the rest allow.
        wanted = (incoming.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            raise errors.conflict(rt, current["metadata"]["name"])

    def _replace(self, rt: ResourceType, current: dict, new: dict, dry_run: bool) -> dict:
        meta, old_meta = new["metadata"], current["metadata"]
        for field in ("uid", "creationTimestamp", "generation", "resourceVersion", "namespace", "name"):
            if field in old_meta:
                meta[field] = old_meta[field]
        if "status" in rt.subresources:
            # The main resource cannot change status; that is what the /status subresource is for.
            new["status"] = copy.deepcopy(current.get("status"))
            if new["status"] is None:
                new.pop("status")
        if rt is SERVICES:
            self._keep_cluster_ip(current, new)
        apply_defaults(new, self._used_cluster_ips(exclude=old_meta["uid"]))
        if _spec_part(new) != _spec_part(current):
            meta["generation"] = old_meta.get("generation", 1) + 1
        if new == current:
            return current  # a no-op write does not bump the resourceVersion, as upstream
        self._validate(rt, new)
        return new if dry_run else self.store.put(rt.key, new)

    @staticmethod
    def _keep_cluster_ip(current: dict, new: dict) -> None:
        old_ip = current["spec"].get("clusterIP")
        spec = new.setdefault("spec", {})
        if not spec.get("clusterIP"):
            spec["clusterIP"] = old_ip
            spec["clusterIPs"] = current["spec"].get("clusterIPs", [old_ip])
        elif old_ip and spec["clusterIP"] != old_ip:
            cause = validation_cause("spec.clusterIP", "field is immutable")
            raise errors.invalid("", "Service", current["metadata"]["name"], [cause])

    def update_status(
        self, rt: ResourceType, namespace: str, name: str, body: dict, dry_run: bool = False
    ) -> dict:
        with self.store.lock:
            current = self.get(rt, namespace, name)
            self._check_rv(rt, current, body)
            new = copy.deepcopy(current)
            new["status"] = copy.deepcopy(body.get("status"))
            if new == current:
                return current
            self._validate(rt, new)
            return new if dry_run else self.store.put(rt.key, new)

    # -- patch -------------------------------------------------------------------------------
    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        subresource: str | None,
        content_type: str,
        raw: bytes,
        dry_run: bool = False,
    ) -> dict:
        with self.store.lock:
            current = self.get(rt, namespace, name)
            target = scale_of(current) if subresource == "scale" else current
            patched = apply_patch(content_type, target, raw)
            if not isinstance(patched.get("metadata"), dict):
                raise errors.bad_request("the patch removed metadata")
            # A patch that sets metadata.resourceVersion is a precondition on it.
            self._check_rv(rt, current, patched)
            if subresource == "scale":
                return self._write_scale(current, patched, dry_run)
            if subresource == "status":
                return self.update_status(rt, namespace, name, patched, dry_run)
            patched.update(kind=rt.kind, apiVersion=rt.api_version)
            patched["metadata"]["name"] = name
            return self._replace(rt, current, patched, dry_run)

    # -- scale subresource -------------------------------------------------------------------
    def get_scale(self, namespace: str, name: str) -> dict:
        return scale_of(self.get(DEPLOYMENTS, namespace, name))

    def update_scale(self, namespace: str, name: str, body: dict, dry_run: bool = False) -> dict:
        with self.store.lock:
            current = self.get(DEPLOYMENTS, namespace, name)
            self._check_rv(DEPLOYMENTS, current, body)
            return self._write_scale(current, body, dry_run)

    def _write_scale(self, deployment: dict, scale: dict, dry_run: bool) -> dict:
        name = deployment["metadata"]["name"]
        scale = {**scale, "kind": "Scale", "apiVersion": "autoscaling/v1"}
        causes = validate(scale) if isinstance(scale.get("metadata"), dict) else []
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        if not causes and replicas < 0:
            message = f"Invalid value: {replicas}: must be greater than or equal to 0"
            causes = [validation_cause("spec.replicas", message)]
        if causes:
            raise errors.invalid("autoscaling", "Scale", name, causes)
        new = copy.deepcopy(deployment)
        new["spec"]["replicas"] = replicas
        return scale_of(self._replace(DEPLOYMENTS, deployment, new, dry_run))

    # -- delete ------------------------------------------------------------------------------
    def delete(
        self, rt: ResourceType, namespace: str, name: str, options: dict, dry_run: bool = False
    ) -> dict:
        with self.store.lock:
            current = self.get(rt, namespace, name)
            _check_preconditions(rt, current, options.get("preconditions") or {})
            if dry_run:
                return errors.success_status(rt, name, current["metadata"]["uid"])
            if rt is NAMESPACES:
                self._delete_namespace_contents(name)
            last = self.store.remove(rt.key, namespace, name)
        return self._deleted_response(rt, last)

    def _delete_namespace_contents(self, namespace: str) -> None:
        # The real namespace controller empties a Terminating namespace; kubesim does it at once.
        for rt in RESOURCES:
            if rt.namespaced:
                for obj in self.store.items(rt.key, namespace):
                    self.store.remove(rt.key, namespace, obj["metadata"]["name"])

    @staticmethod
    def _deleted_response(rt: ResourceType, last: dict) -> dict:
        # Services and Namespaces answer a delete with the object, the others with a Status,
        # which is what the official client's return types expect.
        if rt is SERVICES:
            return last
        if rt is NAMESPACES:
            last["metadata"]["deletionTimestamp"] = now_rfc3339()
            last["status"] = {"phase": "Terminating"}
            return last
        return errors.success_status(rt, last["metadata"]["name"], last["metadata"]["uid"])

    def delete_collection(
        self, rt: ResourceType, namespace: str, query: ListQuery, dry_run: bool = False
    ) -> dict:
        with self.store.lock:
            doomed = self.list(rt, namespace, ListQuery(query.label_selector, query.field_selector))["items"]
            if not dry_run:
                for obj in doomed:
                    self.delete(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], {})
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}


def _check_preconditions(rt: ResourceType, current: dict, pre: dict) -> None:
    meta = current["metadata"]
    if pre.get("uid") and pre["uid"] != meta["uid"]:
        why = f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta['uid']}"
        raise errors.conflict(rt, meta["name"], why)
    if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
        why = (
            f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
            f"ResourceVersion in object meta: {meta['resourceVersion']}"
        )
        raise errors.conflict(rt, meta["name"], why)


def scale_of(deployment: dict) -> dict:
    """The ``autoscaling/v1 Scale`` view of a Deployment."""
    meta = deployment["metadata"]
    requirements = selectors.from_label_selector_object(deployment["spec"].get("selector"))
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in _SCALE_META if k in meta},
        "spec": {"replicas": deployment["spec"].get("replicas", 0)},
        "status": {
            "replicas": (deployment.get("status") or {}).get("replicas", 0),
            "selector": selectors.to_string(requirements),
        },
    }
