"""REST API error answers: JSON `{field path: [messages]}`, and an audit event for every refusal.

Nested validation errors are flattened to paths (`operations[2].port`, `retry.tries`); errors of list
items of a scalar list field stay under the field, prefixed with the item index, so a client always finds
a field's errors under its own name. Authentication and permission refusals are audited here, for every
view of the API at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import DataError, connection, transaction
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from appliance.audit import services as audit
from appliance.audit.choices import Outcome

NON_FIELD = "non_field_errors"


def _merge(into: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for key, messages in more.items():
        into.setdefault(key, []).extend(messages)


def flatten(detail: Any, path: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail → `{path: [messages]}`."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            if isinstance(key, int) or str(key).isdigit():
                _merge(out, _items(value, path, int(key)))
            elif key == NON_FIELD and path:
                _merge(out, flatten(value, path))
            else:
                _merge(out, flatten(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(detail, list) and any(isinstance(item, Mapping | list) for item in detail):
        for index, item in enumerate(detail):
            if item:
                _merge(out, flatten(item, f"{path}[{index}]"))
    elif isinstance(detail, list):
        out.setdefault(path or NON_FIELD, []).extend(str(item) for item in detail)
    else:
        out.setdefault(path or NON_FIELD, []).append(str(detail))
    return out


def _items(value: Any, path: str, index: int) -> dict[str, list[str]]:
    """Errors of item `index`: nested objects get `[i]` in the path, scalar items an `item i:` prefix."""
    if isinstance(value, Mapping):
        return flatten(value, f"{path}[{index}]")
    messages = value if isinstance(value, list) else [value]
    return {path or NON_FIELD: [f"item {index}: {message}" for message in messages]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DataError):
        # A value the fields let through but PostgreSQL refuses (out of its range): the client's input,
        # never a server fault. Fields should refuse such values first; this is the safety net. The
        # statement aborted any enclosing transaction, which therefore can only roll back.
        if connection.in_atomic_block:
            transaction.set_rollback(True)
        return Response(
            {"detail": "A value is out of the range the database accepts."}, status.HTTP_400_BAD_REQUEST
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    request = context.get("request")
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.PermissionDenied) and request is not None:
        audit.record(
            "auth.denied",
            request,
            outcome=Outcome.DENIED,
            detail={"method": request.method, "path": request.path, "reason": str(exc.detail)},
        )
    if isinstance(exc, exceptions.ValidationError):
        response.data = flatten(response.data)
    return response
