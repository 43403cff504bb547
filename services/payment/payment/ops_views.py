"""Operational endpoints: liveness, readiness, Prometheus metrics and the fault knobs."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from payment import faults, health, metrics

log = logging.getLogger(__name__)


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "alive", "instance": settings.INSTANCE_ID})


@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    state = health.readiness()
    body = {
        "status": "ready" if state.ready else "not_ready",
        "instance": settings.INSTANCE_ID,
        "draining": state.draining,
        "fail_readiness_fault": state.failing_by_fault,
        "checks": state.checks,
        "reasons": state.reasons,
    }
    return JsonResponse(body, status=200 if state.ready else 503)


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(metrics.render(), content_type=metrics.CONTENT_TYPE)


class FaultSerializer(serializers.Serializer):
    """The knobs; a PUT may name any subset, the others keep their value."""

    latency_ms = serializers.IntegerField(min_value=0, max_value=faults.MAX_LATENCY_MS, required=False)
    error_rate = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    fail_readiness = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = (
            sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        )
        if unknown:
            raise serializers.ValidationError({name: ["Unknown fault knob."] for name in unknown})
        return attrs


@api_view(["GET", "PUT", "DELETE"])
def fault_knobs(request: Request) -> Response:
    if not faults.enabled():
        return Response(
            {"detail": "Fault injection is disabled on this instance (PAYMENT_FAULTS_ENABLED=0)."},
            status=status.HTTP_403_FORBIDDEN,
        )
    if request.method == "PUT":
        serializer = FaultSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        state = faults.store(replace(faults.current(), **serializer.validated_data))
    elif request.method == "DELETE":
        state = faults.clear()
    else:
        state = faults.current()
    if request.method != "GET":
        log.warning("fault knobs changed", extra={"faults": state.as_dict()})
    return Response({"instance": settings.INSTANCE_ID, **state.as_dict()})
