"""Health API: check settings (audited changes, like every configuration object) and read-only state,
history and alerts. Each viewset is a queryset, a serializer and a filterset."""

from __future__ import annotations

from rest_framework import viewsets

from appliance.health import filtersets
from appliance.health.api import serializers as s
from appliance.health.models import HealthAlert, HealthCheck, HealthState, HealthTransition
from appliance.lb.api.views import ChangeViewSet


class HealthCheckViewSet(ChangeViewSet):
    queryset = HealthCheck.objects.select_related("upstream", "server")
    serializer_class = s.HealthCheckSerializer
    filterset_class = filtersets.HealthCheckFilterSet
    ordering_fields = ["id", "interval_s"]


class HealthStateViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = HealthState.objects.select_related("server__upstream")
    serializer_class = s.HealthStateSerializer
    filterset_class = filtersets.HealthStateFilterSet
    ordering_fields = ["server", "status", "changed_at", "last_checked_at"]


class HealthTransitionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = HealthTransition.objects.select_related("server")
    serializer_class = s.HealthTransitionSerializer
    filterset_class = filtersets.HealthTransitionFilterSet
    ordering_fields = ["at", "seq"]


class HealthAlertViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = HealthAlert.objects.select_related("upstream")
    serializer_class = s.HealthAlertSerializer
    filterset_class = filtersets.HealthAlertFilterSet
    ordering_fields = ["raised_at"]
