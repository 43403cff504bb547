"""Request pipeline: request id and instance headers + access log, metrics, and fault injection.

Order matters (outermost first): the context middleware sees every response, including the 500s the
fault middleware invents, so `X-Instance` and `X-Request-ID` are on every answer and every request is
logged and counted once.
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

from payment import faults, metrics
from payment.logs import request_id

log = logging.getLogger("payment.access")

Handler = Callable[[HttpRequest], HttpResponse]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and knobs are never slowed down or failed by faults: an operator must always be able to see the
# instance's state and turn the faults off again.
_FAULT_EXEMPT = frozenset({"/healthz", "/readyz", "/metrics", "/faults"})


def route_of(request: HttpRequest) -> str:
    """The URL *pattern* that served the request (bounded label values), not the concrete path."""
    match = getattr(request, "resolver_match", None)
    if match is None:  # answered before URL resolution, e.g. an injected fault
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "unmatched"
    return "/" + match.route


class RequestContextMiddleware:
    """Adopts nginx's X-Request-ID (or makes one), stamps X-Instance, writes one JSON access-log line."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Instance"] = settings.INSTANCE_ID
            response["X-Request-ID"] = rid
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "route": route_of(request),
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return response
        finally:
            request_id.reset(token)


class MetricsMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        method = request.method if request.method in _METHODS else "OTHER"
        started = time.perf_counter()
        with metrics.HTTP_IN_PROGRESS.track_inprogress():
            response = self.get_response(request)
        route = route_of(request)
        metrics.HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
        return response


class FaultInjectionMiddleware:
    """Applies the latency and error-rate knobs before the view runs, so an injected error has no effect."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path in _FAULT_EXEMPT:
            return self.get_response(request)
        state = faults.current()
        if state.latency_ms:
            time.sleep(state.latency_ms / 1000)
        if state.error_rate and random.random() < state.error_rate:
            metrics.ERRORS.labels("injected_fault").inc()
            response = JsonResponse({"detail": "Injected fault: this request failed on purpose."}, status=500)
            response["X-Fault-Injected"] = "error"
            return response
        return self.get_response(request)


def _count_unhandled(sender: object, **kwargs: object) -> None:
    metrics.ERRORS.labels("unhandled").inc()


got_request_exception.connect(_count_unhandled, dispatch_uid="payment.count_unhandled")
