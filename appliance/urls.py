"""URL map: health endpoints, the REST API under /api/v1/, the browser UI at /."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from appliance.core import views as core_views
from appliance.observability import views as observability_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", observability_views.metrics, name="metrics"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include("appliance.api_urls")),
    path("", include("webui.urls")),
]
