"""REST API v1: every domain app registers its viewsets on one router; schema and offline docs."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from appliance.accounts.api import urls as accounts_urls
from appliance.audit.api import urls as audit_urls
from appliance.benchmarks.api import urls as benchmarks_urls
from appliance.health.api import urls as health_urls
from appliance.k8s.api import urls as k8s_urls
from appliance.lb.api import urls as lb_urls
from appliance.tls.api import urls as tls_urls


@csrf_exempt  # it changes nothing; without this, writes to unknown URLs would answer Django's HTML 403
def not_found(request: HttpRequest) -> JsonResponse:
    """Unknown API URLs (a malformed id included) answer JSON like every other API error."""
    return JsonResponse({"detail": "Not found."}, status=404)


router = DefaultRouter()
lb_urls.register(router)
health_urls.register(router)
k8s_urls.register(router)
accounts_urls.register(router)
audit_urls.register(router)
tls_urls.register(router)
benchmarks_urls.register(router)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(router.urls)),
    re_path(r"^", not_found),
]
