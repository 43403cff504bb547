"""Health endpoints: the only views that need no authentication."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from appliance.core.health import run_checks


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    ready = all(c["status"] == "ok" for c in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "degraded", "checks": checks}, status=200 if ready else 503
    )
