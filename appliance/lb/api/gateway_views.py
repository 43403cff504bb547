"""Viewsets of the gateway policies: sticky sessions of upstreams, rate and connection limits."""

from __future__ import annotations

from appliance.lb import filtersets
from appliance.lb.api import gateway_serializers as s
from appliance.lb.api.views import ChangeViewSet
from appliance.lb.models import RateLimitPolicy, StickyPolicy


class StickyPolicyViewSet(ChangeViewSet):
    """Session affinity per upstream: an issued cookie (Lua balancer), the client IP or a header."""

    queryset = StickyPolicy.objects.select_related("upstream")
    serializer_class = s.StickyPolicySerializer
    filterset_class = filtersets.StickyPolicyFilterSet


class RateLimitPolicyViewSet(ChangeViewSet):
    """Request-rate and connection limits, attached to virtual servers and routes; counted per node."""

    queryset = RateLimitPolicy.objects.prefetch_related("virtual_servers", "routes")
    serializer_class = s.RateLimitPolicySerializer
    filterset_class = filtersets.RateLimitPolicyFilterSet
    ordering_fields = ["name"]
