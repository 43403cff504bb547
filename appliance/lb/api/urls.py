"""Routes of the load-balancing API on the shared v1 router."""

from rest_framework.routers import DefaultRouter

from appliance.lb.api import change_views, gateway_views, views


def register(router: DefaultRouter) -> None:
    router.register("upstreams", views.UpstreamViewSet)
    router.register("servers", views.ServerViewSet)
    router.register("virtual-servers", views.VirtualServerViewSet)
    router.register("routes", views.RouteViewSet)
    router.register("sticky-policies", gateway_views.StickyPolicyViewSet)
    router.register("rate-limits", gateway_views.RateLimitPolicyViewSet)
    router.register("revisions", views.ConfigRevisionViewSet)
    router.register("change-sets", change_views.ChangeSetViewSet, basename="change-set")
    router.register("preview", change_views.PreviewViewSet, basename="preview")
