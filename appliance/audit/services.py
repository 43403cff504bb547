"""Recording audit events: actor and request context, JSON snapshots, secrets redacted by field name.

Mutations record inside the transaction that makes them, so an event exists exactly when the change does.
Refusals (failed sign-ins, denied requests) record on their own, outside any transaction of the request.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from appliance.audit.choices import ActorKind, Outcome
from appliance.audit.models import AuditEvent

REDACTED = "[redacted]"
# A field whose name looks like this never has its value stored, at any depth of a snapshot.
SECRET_FIELD = re.compile(r"password|passwd|secret|key_material|private_key|token|credential|salt", re.I)


def redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED if SECRET_FIELD.search(str(key)) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def snapshot(data: Any) -> Any:
    """A JSON-safe, redacted copy of serializer output (or None)."""
    if data is None:
        return None
    return redact(json.loads(json.dumps(data, cls=DjangoJSONEncoder)))


def client_ip(request: Any) -> str | None:
    """The peer address; the web app is reached directly, so forwarded headers are not trusted."""
    address = (getattr(request, "META", None) or {}).get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def actor_of(request: Any) -> tuple[str, str, int | None]:
    """(actor name, actor kind, API token id) of a Django or DRF request."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return "", ActorKind.ANONYMOUS, None
    token = getattr(request, "auth", None)
    token_id = getattr(token, "pk", None) if token is not None else None
    kind = ActorKind.TOKEN if token_id is not None else ActorKind.SESSION
    return user.get_username(), kind, token_id


def record(
    action: str,
    request: Any = None,
    *,
    obj: models.Model | None = None,
    before: Any = None,
    after: Any = None,
    outcome: str = Outcome.SUCCESS,
    detail: Mapping[str, Any] | None = None,
    actor: str | None = None,
    actor_kind: str | None = None,
) -> AuditEvent:
    """Store one event; `actor`/`actor_kind` override what the request says (sign-in attempts, commands)."""
    if request is None:
        name, kind, token_id = "", ActorKind.SYSTEM, None
    elif actor is not None and actor_kind is not None:
        name, kind, token_id = actor, actor_kind, None  # the request's own user is not asked for
    else:
        name, kind, token_id = actor_of(request)
    return AuditEvent.objects.create(
        actor=(actor if actor is not None else name)[:150],
        actor_kind=actor_kind or kind,
        api_token=token_id,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        before=snapshot(before),
        after=snapshot(after),
        detail=snapshot(dict(detail or {})),
        request_id=str(getattr(request, "request_id", ""))[:64],
        client_ip=client_ip(request),
        outcome=outcome,
    )
