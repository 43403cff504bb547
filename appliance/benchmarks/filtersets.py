"""Filters of the benchmark run list, shared by the API and the UI."""

import django_filters

from appliance.benchmarks.models import BenchmarkRun


class BenchmarkRunFilterSet(django_filters.FilterSet):
    created_after = django_filters.IsoDateTimeFilter(field_name="created", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created", lookup_expr="lte")

    class Meta:
        model = BenchmarkRun
        fields = ["scenario", "status", "virtual_server"]
