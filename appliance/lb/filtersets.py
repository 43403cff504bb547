"""Filters shared by the API list endpoints and the UI list views."""

import django_filters

from appliance.lb.models import (
    ConfigRevision,
    RateLimitPolicy,
    Route,
    Server,
    StickyPolicy,
    Upstream,
    VirtualServer,
)


class UpstreamFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Upstream
        fields = ["name", "algorithm"]


class ServerFilterSet(django_filters.FilterSet):
    class Meta:
        model = Server
        fields = ["upstream", "address", "port", "state", "backup"]


class VirtualServerFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = VirtualServer
        fields = ["name", "default_upstream"]


class RouteFilterSet(django_filters.FilterSet):
    class Meta:
        model = Route
        fields = ["virtual_server", "upstream", "action", "path_kind"]


class ConfigRevisionFilterSet(django_filters.FilterSet):
    class Meta:
        model = ConfigRevision
        fields = ["status", "number"]


class StickyPolicyFilterSet(django_filters.FilterSet):
    class Meta:
        model = StickyPolicy
        fields = ["upstream", "kind"]


class RateLimitPolicyFilterSet(django_filters.FilterSet):
    class Meta:
        model = RateLimitPolicy
        fields = ["name", "key", "virtual_servers", "routes"]
