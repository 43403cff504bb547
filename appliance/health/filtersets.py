"""Filters of the health API lists (and of any UI list built on the same models)."""

import django_filters

from appliance.health.models import HealthAlert, HealthCheck, HealthState, HealthTransition


class HealthCheckFilterSet(django_filters.FilterSet):
    class Meta:
        model = HealthCheck
        fields = ["upstream", "server", "type", "enabled"]


class HealthStateFilterSet(django_filters.FilterSet):
    upstream = django_filters.NumberFilter(field_name="server__upstream")
    admin_state = django_filters.CharFilter(field_name="server__state")

    class Meta:
        model = HealthState
        fields = ["server", "status", "last_result"]


class HealthTransitionFilterSet(django_filters.FilterSet):
    upstream = django_filters.NumberFilter(field_name="server__upstream")
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lte")

    class Meta:
        model = HealthTransition
        fields = ["server", "from_status", "to_status", "reason"]


class HealthAlertFilterSet(django_filters.FilterSet):
    active = django_filters.BooleanFilter(field_name="cleared_at", lookup_expr="isnull")

    class Meta:
        model = HealthAlert
        fields = ["upstream", "kind"]
