"""Filters shared by the TLS API list endpoints (and the UI lists, when they come)."""

import django_filters

from appliance.tls.models import AcmeAccount, Certificate, VirtualServerTls


class CertificateFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    expires_before = django_filters.IsoDateTimeFilter(field_name="not_after", lookup_expr="lt")

    class Meta:
        model = Certificate
        fields = ["name", "source", "status", "acme_account"]


class AcmeAccountFilterSet(django_filters.FilterSet):
    class Meta:
        model = AcmeAccount
        fields = ["name"]


class VirtualServerTlsFilterSet(django_filters.FilterSet):
    class Meta:
        model = VirtualServerTls
        fields = ["virtual_server", "redirect_http", "client_auth", "upstream_tls"]
