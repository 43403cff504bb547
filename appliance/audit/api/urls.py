"""Routes of the audit API on the shared v1 router."""

from rest_framework.routers import DefaultRouter

from appliance.audit.api import views


def register(router: DefaultRouter) -> None:
    router.register("audit-events", views.AuditEventViewSet)
