"""ETags and `If-Match`: a changed object answers 412 to a write based on an older read (no lost updates).

An object's ETag is a hash of its API representation, so any change anyone makes to it (its `updated`
time included) gives a new one. Writes lock the row (`select_for_update`) before comparing, so of two
concurrent writes with the same `If-Match`, the second sees the first's result and gets 412.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The object changed since you read it (If-Match does not match its ETag); read it again."
    default_code = "precondition_failed"


def etag_of(representation: Mapping[str, Any]) -> str:
    body = json.dumps(representation, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def matches(if_match: str | None, current: str) -> bool:
    """RFC 9110 strong comparison: absent header or `*` match; weak tags (`W/"..."`) never do."""
    if if_match is None:
        return True
    tags = [tag.strip() for tag in if_match.split(",")]
    return "*" in tags or current in tags


def check_if_match(request: Request, representation: Mapping[str, Any]) -> None:
    if not matches(request.headers.get("If-Match"), etag_of(representation)):
        raise PreconditionFailed()
