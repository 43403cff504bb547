"""Change sets: several creates/updates/deletes validated by the resources' own serializers, all or nothing.

`apply` runs inside the caller's transaction. Each operation runs in a savepoint, so every operation is
checked even after one fails, and the caller gets every error at once (`operations[i].field`) and rolls the
whole set back. A value `"$i"` in a relation field (or in `id`) means the object created by operation `i`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from appliance.api_errors import flatten
from appliance.audit import services as audit
from appliance.lb.api import serializers as s
from appliance.lb.api.etags import PreconditionFailed, etag_of, matches
from appliance.lb.models import Route, Server, Upstream, VirtualServer

REFERENCE = re.compile(r"\$([0-9]{1,4})")


@dataclass(frozen=True)
class Resource:
    model: type[models.Model]
    serializer: type[serializers.ModelSerializer]


RESOURCES = {
    "upstreams": Resource(Upstream, s.UpstreamSerializer),
    "servers": Resource(Server, s.ServerSerializer),
    "virtual-servers": Resource(VirtualServer, s.VirtualServerSerializer),
    "routes": Resource(Route, s.RouteSerializer),
}


class _Stale(Exception):
    """An operation's `if_match` no longer matches its object."""


@dataclass
class _Run:
    request: Any
    created: dict[int, tuple[str, int]]

    @property
    def context(self) -> dict[str, Any]:
        return {"request": self.request, "view": None, "format": None}


def apply(operations: list[dict[str, Any]], request: Any) -> list[dict[str, Any]]:
    """Apply validated operations in order; raises ValidationError (400) or PreconditionFailed (412)."""
    run = _Run(request, {})
    results: list[dict[str, Any]] = []
    errors: dict[str, list[str]] = {}
    stale = False
    for index, operation in enumerate(operations):
        try:
            with transaction.atomic():
                results.append(_apply_one(run, index, operation))
        except ValidationError as exc:
            errors.update(flatten(exc.detail, f"operations[{index}]"))
        except _Stale:
            stale = True
            errors[f"operations[{index}].if_match"] = ["the object changed since you read it; read it again"]
    if stale:
        raise PreconditionFailed(errors)
    if errors:
        raise ValidationError(errors)
    return results


def _apply_one(run: _Run, index: int, operation: dict[str, Any]) -> dict[str, Any]:
    name, verb = operation["resource"], operation["op"]
    resource = RESOURCES[name]
    data = _resolve(run, resource, operation.get("data") or {})
    if verb == "create":
        serializer = resource.serializer(data=data, context=run.context)
        serializer.is_valid(raise_exception=True)
        obj = _save(serializer)
        run.created[index] = (name, obj.pk)
        audit.record("create", run.request, obj=obj, after=serializer.data, detail={"operation": index})
        return _result(operation, obj.pk, serializer.data)
    obj = _target(run, resource, name, operation["id"])
    before = resource.serializer(obj, context=run.context).data
    if not matches(operation.get("if_match"), etag_of(before)):
        raise _Stale()
    if verb == "update":
        serializer = resource.serializer(obj, data=data, partial=True, context=run.context)
        serializer.is_valid(raise_exception=True)
        _save(serializer)
        audit.record("update", run.request, obj=obj, before=before, after=serializer.data)
        return _result(operation, obj.pk, serializer.data)
    audit.record("delete", run.request, obj=obj, before=before, detail={"operation": index})
    pk = obj.pk
    try:
        obj.delete()
    except models.ProtectedError as exc:
        used_by = sorted({str(o) for o in exc.protected_objects})[:10]
        raise ValidationError({"id": [f"still used by: {', '.join(used_by)}"]}) from None
    return _result(operation, pk, None)


def _result(operation: dict[str, Any], pk: int, data: Any) -> dict[str, Any]:
    return {
        "op": operation["op"],
        "resource": operation["resource"],
        "id": pk,
        "etag": etag_of(data) if data is not None else None,
        "data": data,
    }


def _save(serializer: serializers.ModelSerializer) -> Any:
    try:
        return serializer.save()
    except IntegrityError:
        raise ValidationError(["conflicts with an existing object"]) from None


def _target(run: _Run, resource: Resource, name: str, ref: int | str) -> Any:
    pk = _dereference(run, ref, resource.model, "id")
    obj = resource.model._default_manager.select_for_update(of=("self",)).filter(pk=pk).first()
    if obj is None:
        raise ValidationError({"id": [f"no {name} object with id {pk}"]})
    return obj


def _resolve(run: _Run, resource: Resource, data: dict[str, Any]) -> dict[str, Any]:
    """Replace `"$i"` in relation fields with the id created by operation i."""
    fields = resource.serializer(context=run.context).fields
    resolved = dict(data)
    for key, value in data.items():
        field = fields.get(key)
        is_relation = isinstance(field, serializers.PrimaryKeyRelatedField)
        if is_relation and isinstance(value, str) and REFERENCE.fullmatch(value):
            resolved[key] = _dereference(run, value, field.queryset.model, key)
    return resolved


def _dereference(run: _Run, ref: int | str, model: type[models.Model], field: str) -> int:
    if isinstance(ref, int):
        return ref
    index = int(ref[1:])
    created = run.created.get(index)
    if created is None or RESOURCES[created[0]].model is not model:
        what = model._meta.verbose_name
        raise ValidationError({field: [f"{ref} does not name a {what} created earlier in this change set"]})
    return created[1]
