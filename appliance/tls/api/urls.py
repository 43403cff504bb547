"""Routes of the TLS API on the shared v1 router."""

from rest_framework.routers import DefaultRouter

from appliance.tls.api import views


def register(router: DefaultRouter) -> None:
    router.register("certificates", views.CertificateViewSet)
    router.register("acme-accounts", views.AcmeAccountViewSet)
    router.register("tls-bindings", views.VirtualServerTlsViewSet)
