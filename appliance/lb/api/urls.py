"""Routes of the load-balancing API on the shared v1 router."""

from rest_framework.routers import DefaultRouter

from appliance.lb.api import views


def register(router: DefaultRouter) -> None:
    router.register("upstreams", views.UpstreamViewSet)
    router.register("servers", views.ServerViewSet)
    router.register("virtual-servers", views.VirtualServerViewSet)
    router.register("routes", views.RouteViewSet)
    router.register("revisions", views.ConfigRevisionViewSet)
