"""Filters of the accounts list endpoints."""

import django_filters
from django.contrib.auth import get_user_model

from appliance.accounts.models import ROLE_CHOICES, ApiToken


class ApiTokenFilterSet(django_filters.FilterSet):
    user = django_filters.CharFilter(field_name="user__username")
    role = django_filters.ChoiceFilter(choices=ROLE_CHOICES)
    revoked = django_filters.BooleanFilter(field_name="revoked_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = ApiToken
        fields = ["user", "role", "name", "revoked"]


class UserFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="username", lookup_expr="icontains")

    class Meta:
        model = get_user_model()
        fields = ["username", "is_active"]
