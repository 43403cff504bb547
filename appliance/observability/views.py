"""The web app's /metrics: the control plane's figures (`collector`) for Prometheus.

Open without credentials only to clients in `LB_METRICS_ALLOW_CIDRS` (loopback by default) that reach
the app directly: a request carrying a proxy's forwarding header came through a proxy, and the proxy's
loopback address says nothing about the client. Anyone else needs an API token
(`Authorization: Bearer ...`, any role).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from appliance.accounts.authentication import BearerTokenAuthentication
from appliance.observability.collector import ControlPlaneCollector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def from_allowed_network(request: HttpRequest) -> bool:
    if any(header in request.META for header in _FORWARDING_HEADERS):
        return False
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in network for network in settings.LB_METRICS_ALLOW_CIDRS)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """None if the request may read the metrics, else the answer that refuses it."""
    if from_allowed_network(request):
        return None
    auth = BearerTokenAuthentication()
    try:
        if auth.authenticate(Request(request)) is not None:
            return None
    except Throttled as exc:
        return HttpResponse(str(exc.detail), status=429, headers={"Retry-After": str(exc.wait or 60)})
    except AuthenticationFailed as exc:
        return HttpResponse(str(exc.detail), status=401, headers={"WWW-Authenticate": 'Bearer realm="api"'})
    return HttpResponse(
        "an API token is required\n", status=401, headers={"WWW-Authenticate": 'Bearer realm="api"'}
    )


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ControlPlaneCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE)
