"""Routes of the Kubernetes API on the shared v1 router."""

from rest_framework.routers import DefaultRouter

from appliance.k8s.api import views


def register(router: DefaultRouter) -> None:
    router.register("clusters", views.ClusterViewSet)
    router.register("service-bindings", views.ServiceBindingViewSet)
    router.register("discovered-endpoints", views.DiscoveredEndpointViewSet)
    router.register("scaling-policies", views.ScalingPolicyViewSet)
    router.register("scaling-decisions", views.ScalingDecisionViewSet)
