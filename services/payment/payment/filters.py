"""The one FilterSet for payment lists: exact matches on allow-listed fields and a creation-time window."""

from __future__ import annotations

from django_filters import rest_framework as filters

from payment.models import Payment, PaymentStatus
from payment.serializers import CURRENCIES


class PaymentFilterSet(filters.FilterSet):
    payer = filters.CharFilter(max_length=128)
    payee = filters.CharFilter(max_length=128)
    reference = filters.CharFilter(max_length=128)
    currency = filters.ChoiceFilter(choices=[(code, code) for code in CURRENCIES])
    status = filters.ChoiceFilter(choices=PaymentStatus.choices)
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Payment
        fields = ["payer", "payee", "reference", "currency", "status", "created_after", "created_before"]
