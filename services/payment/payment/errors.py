"""How failures become HTTP answers: one JSON shape, and the right status for each cause.

Validation errors keep DRF's field-level shape `{field: [messages]}`; everything else is
`{"detail": message}`. Outages of a dependency are 503 (retry later, or elsewhere: the load balancer may
pass the request to another replica), never a 500 with a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from payment import metrics, storage
from payment.services import IdempotencyConflict, ReceiptStorageUnavailable, RefundRejected

log = logging.getLogger(__name__)


def _unavailable(kind: str, message: str) -> Response:
    metrics.ERRORS.labels(kind).inc()
    return Response(
        {"detail": message}, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "1"}
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, IdempotencyConflict):
        return Response(
            {"detail": "This Idempotency-Key was already used with a different request body."},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, RefundRejected):
        return Response({"amount": [str(exc)]}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ReceiptStorageUnavailable):
        log.error("payment not created: receipt storage unavailable", extra={"error": str(exc)})
        return _unavailable(
            "storage", "Receipt storage is unavailable; the payment was not created. Retry later."
        )
    if isinstance(exc, storage.ReceiptMissing):
        log.error("receipt object missing", extra={"error": str(exc)})
        return Response(
            {"detail": "The receipt object is missing from storage."}, status=status.HTTP_404_NOT_FOUND
        )
    if isinstance(exc, storage.StorageError):
        log.error("object storage unavailable", extra={"error": str(exc)})
        return _unavailable("storage", "Receipt storage is unavailable. Retry later.")
    if isinstance(exc, OperationalError | InterfaceError):  # lost connection, timeouts; not our bugs
        log.error("database unavailable", exc_info=exc)
        return _unavailable("database", "The payment database is unavailable. Retry later.")
    return drf_exception_handler(exc, context)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": "Internal server error."}, status=500)
