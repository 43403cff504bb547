"""Filters of the Kubernetes API lists (and of any UI list built on the same models)."""

import django_filters

from appliance.k8s.models import Cluster, DiscoveredEndpoint, ScalingDecision, ScalingPolicy, ServiceBinding


class ClusterFilterSet(django_filters.FilterSet):
    class Meta:
        model = Cluster
        fields = ["name", "source", "status", "simulated"]


class ServiceBindingFilterSet(django_filters.FilterSet):
    class Meta:
        model = ServiceBinding
        fields = ["upstream", "cluster", "namespace", "service"]


class DiscoveredEndpointFilterSet(django_filters.FilterSet):
    upstream = django_filters.NumberFilter(field_name="binding__upstream")
    cluster = django_filters.NumberFilter(field_name="binding__cluster")

    class Meta:
        model = DiscoveredEndpoint
        fields = ["binding", "ready", "terminating"]


class ScalingPolicyFilterSet(django_filters.FilterSet):
    class Meta:
        model = ScalingPolicy
        fields = ["binding", "deployment", "enabled", "metric"]


class ScalingDecisionFilterSet(django_filters.FilterSet):
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lte")

    class Meta:
        model = ScalingDecision
        fields = ["policy", "outcome"]
