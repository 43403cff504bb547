"""Kubernetes API: clusters (admin: they hold credentials), bindings, policies (audited changes like every
configuration object) and read-only endpoints and scaling decisions.

Creating or editing a cluster, a binding or a policy changes no nginx configuration by itself: servers
come and go with the endpoints the watcher sees. A binding's weight change and its deletion do change
servers, and answer with the `X-Config-Generation` that carries them.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from appliance.accounts.roles import Role
from appliance.audit import services as audit
from appliance.k8s import filtersets, rbac, services
from appliance.k8s.api import serializers as s
from appliance.k8s.models import Cluster, DiscoveredEndpoint, ScalingDecision, ScalingPolicy, ServiceBinding
from appliance.lb.api.views import ChangeViewSet


class NoConfigChangeViewSet(ChangeViewSet):
    """Audited, ETag-checked changes that by themselves change nothing nginx serves: no generation bump."""

    def _mark(self, verb: str, obj: Any) -> None:
        return None


class ClusterViewSet(NoConfigChangeViewSet):
    queryset = Cluster.objects.all()
    serializer_class = s.ClusterSerializer
    filterset_class = filtersets.ClusterFilterSet
    ordering_fields = ["name", "status", "last_contact"]
    required_role = Role.ADMIN

    @extend_schema(request=None, responses={200: OpenApiResponse(s.ClusterSerializer)})
    @action(detail=True, methods=["post"])
    def check(self, request: Request, pk: str | None = None) -> Response:
        """Probe the API server now (reachable, credentials accepted, version) and record the answer."""
        cluster = self.get_object()
        services.check_cluster(cluster)
        cluster.refresh_from_db()
        return Response(self.get_serializer(cluster).data)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def rbac(self, request: Request, pk: str | None = None) -> Response:
        """Role and RoleBinding manifests granting exactly what the configured bindings and policies use."""
        cluster = self.get_object()
        return Response({"kind": "List", "apiVersion": "v1", "items": rbac.manifests(cluster)})


class ServiceBindingViewSet(ChangeViewSet):
    queryset = ServiceBinding.objects.select_related("upstream", "cluster")
    serializer_class = s.ServiceBindingSerializer
    filterset_class = filtersets.ServiceBindingFilterSet
    ordering_fields = ["namespace", "service", "weight"]

    def _mark(self, verb: str, obj: Any) -> None:
        if verb == "update":
            generation = services.apply_binding_weight(obj, self.request.user.get_username())
            if generation is not None:
                self.generation = generation

    def perform_destroy(self, instance: ServiceBinding) -> None:
        with transaction.atomic():
            audit.record("delete", self.request, obj=instance, before=self.before)
            generation = services.delete_binding(instance, self.request.user.get_username())
        if generation is not None:
            self.generation = generation


class ScalingPolicyViewSet(NoConfigChangeViewSet):
    queryset = ScalingPolicy.objects.select_related("binding")
    serializer_class = s.ScalingPolicySerializer
    filterset_class = filtersets.ScalingPolicyFilterSet
    ordering_fields = ["deployment", "next_evaluation_at"]


class DiscoveredEndpointViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = DiscoveredEndpoint.objects.select_related("server")
    serializer_class = s.DiscoveredEndpointSerializer
    filterset_class = filtersets.DiscoveredEndpointFilterSet
    ordering_fields = ["address", "port", "first_seen"]


class ScalingDecisionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = ScalingDecision.objects.select_related("policy")
    serializer_class = s.ScalingDecisionSerializer
    filterset_class = filtersets.ScalingDecisionFilterSet
    ordering_fields = ["at"]
