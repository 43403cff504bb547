"""Free-text search on top of the shared filtersets, for the lists whose shared filterset has none yet.

Each class extends the one the API uses (`appliance.lb.filtersets`, `appliance.tls.filtersets`,
`appliance.k8s.filtersets`), so every API filter works in the UI.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from appliance.k8s.filtersets import (
    ClusterFilterSet,
    ScalingDecisionFilterSet,
    ScalingPolicyFilterSet,
    ServiceBindingFilterSet,
)
from appliance.lb import filtersets
from appliance.tls.filtersets import AcmeAccountFilterSet, CertificateFilterSet


class ServerSearchFilterSet(filtersets.ServerFilterSet):
    q = django_filters.CharFilter(field_name="address", lookup_expr="icontains", label="Address")


class RouteSearchFilterSet(filtersets.RouteFilterSet):
    q = django_filters.CharFilter(field_name="path_prefix", lookup_expr="icontains", label="Path prefix")


class ConfigRevisionSearchFilterSet(filtersets.ConfigRevisionFilterSet):
    q = django_filters.CharFilter(method="search", label="Cause or author")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(cause__icontains=value) | Q(author__icontains=value))


class CertificateSearchFilterSet(CertificateFilterSet):
    """The API's certificate filters, with `q` also finding a certificate by its subject or a SAN."""

    q = django_filters.CharFilter(method="search", label="Name, subject or DNS name")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(name__icontains=value)
            | Q(common_name__icontains=value)
            | Q(dns_names__contains=[value.lower()])
        )


class ClusterSearchFilterSet(ClusterFilterSet):
    q = django_filters.CharFilter(method="search", label="Name or API server")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(server__icontains=value))


class ServiceBindingSearchFilterSet(ServiceBindingFilterSet):
    q = django_filters.CharFilter(method="search", label="Namespace, Service or upstream")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(namespace__icontains=value) | Q(service__icontains=value) | Q(upstream__name__icontains=value)
        )


class ScalingPolicySearchFilterSet(ScalingPolicyFilterSet):
    q = django_filters.CharFilter(field_name="deployment", lookup_expr="icontains", label="Deployment")


class ScalingDecisionSearchFilterSet(ScalingDecisionFilterSet):
    q = django_filters.CharFilter(method="search", label="Deployment or reason")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(policy__deployment__icontains=value) | Q(reason__icontains=value))


class AcmeAccountSearchFilterSet(AcmeAccountFilterSet):
    q = django_filters.CharFilter(method="search", label="Name or directory")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(directory_url__icontains=value))
