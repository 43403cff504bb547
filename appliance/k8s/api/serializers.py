"""One serializer per Kubernetes model; credentials are write-only and never leave the appliance."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from appliance.k8s import kubeconfig, services
from appliance.k8s.choices import ClusterSource
from appliance.k8s.models import Cluster, DiscoveredEndpoint, ScalingDecision, ScalingPolicy, ServiceBinding
from appliance.lb.api.serializers import CleanModelSerializer

BINDING_IDENTITY = ("upstream", "cluster", "namespace", "service", "port_name")


class ClusterSerializer(serializers.ModelSerializer):
    kubeconfig = serializers.CharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        max_length=kubeconfig.MAX_BYTES,
        help_text="A kubeconfig (YAML) with inline credentials only; stored encrypted, never returned.",
    )
    context = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=253,
        help_text="Context to use from the kubeconfig (default: its current context).",
    )
    binding_count = serializers.IntegerField(source="bindings.count", read_only=True)

    class Meta:
        model = Cluster
        fields = [
            "id",
            "name",
            "source",
            "kubeconfig",
            "context",
            "server",
            "unreachable_grace_s",
            "status",
            "status_detail",
            "server_version",
            "simulated",
            "last_contact",
            "binding_count",
            "created",
            "updated",
        ]
        read_only_fields = [
            "server",
            "status",
            "status_detail",
            "server_version",
            "simulated",
            "last_contact",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        source = attrs.get("source", self.instance.source if self.instance else ClusterSource.KUBECONFIG)
        text, context = attrs.pop("kubeconfig", None), attrs.pop("context", "")
        if source == ClusterSource.IN_CLUSTER:
            if text is not None:
                raise serializers.ValidationError({"kubeconfig": "an in-cluster cluster takes no kubeconfig"})
            return attrs
        if text is None:
            if self.instance is None or self.instance.source != ClusterSource.KUBECONFIG:
                raise serializers.ValidationError({"kubeconfig": "required for a kubeconfig cluster"})
            return attrs
        try:
            attrs["parsed"] = kubeconfig.parse(text, context)
        except kubeconfig.KubeconfigError as exc:
            raise serializers.ValidationError({exc.field: str(exc)}) from None
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Cluster:
        parsed = validated_data.pop("parsed", None)
        cluster = Cluster.objects.create(**validated_data)
        if parsed is not None:
            services.store_credentials(cluster, parsed)
        return cluster

    def update(self, instance: Cluster, validated_data: dict[str, Any]) -> Cluster:
        parsed = validated_data.pop("parsed", None)
        if validated_data.get("source") == ClusterSource.IN_CLUSTER:
            instance.context, instance.server, instance.credentials = "", "", b""
        cluster = super().update(instance, validated_data)
        if parsed is not None:
            services.store_credentials(cluster, parsed)
        return cluster


class ServiceBindingSerializer(CleanModelSerializer):
    endpoint_count = serializers.IntegerField(source="endpoints.count", read_only=True)
    ready_count = serializers.SerializerMethodField(help_text="Endpoints whose server takes traffic.")

    class Meta:
        model = ServiceBinding
        fields = [
            "id",
            *BINDING_IDENTITY,
            "weight",
            "synced_at",
            "sync_detail",
            "endpoint_count",
            "ready_count",
            "created",
            "updated",
        ]
        read_only_fields = ["synced_at", "sync_detail"]

    def get_ready_count(self, binding: ServiceBinding) -> int:
        return binding.endpoints.filter(server__state="enabled").count()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None:
            moved = [f for f in BINDING_IDENTITY if f in attrs and attrs[f] != getattr(self.instance, f)]
            if moved:
                raise serializers.ValidationError(
                    dict.fromkeys(moved, "cannot change; create another binding and delete this one")
                )
        return super().validate(attrs)


class DiscoveredEndpointSerializer(serializers.ModelSerializer):
    server_state = serializers.CharField(source="server.state", read_only=True, default=None)

    class Meta:
        model = DiscoveredEndpoint
        fields = [
            "id",
            "binding",
            "server",
            "server_state",
            "target",
            "address",
            "port",
            "ready",
            "serving",
            "terminating",
            "note",
            "first_seen",
            "updated",
        ]
        read_only_fields = fields


class ScalingPolicySerializer(CleanModelSerializer):
    class Meta:
        model = ScalingPolicy
        fields = [
            "id",
            "binding",
            "deployment",
            "enabled",
            "metric",
            "target",
            "min_replicas",
            "max_replicas",
            "scale_up_window_s",
            "scale_down_window_s",
            "max_step",
            "interval_s",
            "metric_window_s",
            "next_evaluation_at",
            "created",
            "updated",
        ]
        read_only_fields = ["next_evaluation_at"]


class ScalingDecisionSerializer(serializers.ModelSerializer):
    deployment = serializers.CharField(source="policy.deployment", read_only=True)

    class Meta:
        model = ScalingDecision
        fields = [
            "id",
            "policy",
            "deployment",
            "at",
            "metric",
            "target",
            "window_s",
            "observed",
            "ready_replicas",
            "current_replicas",
            "recommended",
            "desired",
            "outcome",
            "reason",
            "inputs",
            "attempts",
        ]
        read_only_fields = fields
