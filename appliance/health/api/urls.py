"""Routes of the health API on the shared v1 router."""

from rest_framework.routers import DefaultRouter

from appliance.health.api import views


def register(router: DefaultRouter) -> None:
    router.register("health-checks", views.HealthCheckViewSet)
    router.register("health-states", views.HealthStateViewSet)
    router.register("health-transitions", views.HealthTransitionViewSet)
    router.register("health-alerts", views.HealthAlertViewSet)
