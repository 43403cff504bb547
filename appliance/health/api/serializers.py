"""One serializer per health model; the check's model `clean()` rules run here too (field-level errors)."""

from __future__ import annotations

from rest_framework import serializers

from appliance.health import rotation
from appliance.health.models import HealthAlert, HealthCheck, HealthState, HealthTransition
from appliance.lb.api.serializers import CleanModelSerializer


class HealthCheckSerializer(CleanModelSerializer):
    class Meta:
        model = HealthCheck
        fields = [
            "id",
            "upstream",
            "server",
            "enabled",
            "type",
            "port",
            "method",
            "path",
            "expected_statuses",
            "body_match",
            "body_pattern",
            "headers",
            "tls_verify",
            "timeout_ms",
            "interval_s",
            "rise",
            "fall",
            "slow_start_s",
            "created",
            "updated",
        ]


class HealthStateSerializer(serializers.ModelSerializer):
    upstream = serializers.IntegerField(source="server.upstream_id", read_only=True)
    upstream_name = serializers.CharField(source="server.upstream.name", read_only=True)
    address = serializers.CharField(source="server.address", read_only=True)
    port = serializers.IntegerField(source="server.port", read_only=True)
    backup = serializers.BooleanField(source="server.backup", read_only=True)
    admin_state = serializers.CharField(source="server.state", read_only=True)
    in_rotation = serializers.SerializerMethodField(
        help_text="Whether nginx sends new requests to it (admin state, health and fail-open together)."
    )

    class Meta:
        model = HealthState
        fields = [
            "server",
            "upstream",
            "upstream_name",
            "address",
            "port",
            "backup",
            "admin_state",
            "status",
            "in_rotation",
            "consecutive_successes",
            "consecutive_failures",
            "last_checked_at",
            "last_result",
            "last_detail",
            "last_status_code",
            "last_latency_ms",
            "changed_at",
            "transition_count",
            "ramp_step",
            "next_check_at",
        ]
        read_only_fields = fields

    def get_in_rotation(self, state: HealthState) -> bool:
        server = state.server
        if server.state != "enabled" or server.quarantine_reason:
            return False
        plans = self.context.setdefault("plans", {})  # one plan per upstream per response
        if server.upstream_id not in plans:
            plans[server.upstream_id] = rotation.upstream_plan(server.upstream_id)
        return str(server.pk) not in plans[server.upstream_id].out


class HealthTransitionSerializer(serializers.ModelSerializer):
    upstream = serializers.IntegerField(source="server.upstream_id", read_only=True)
    address = serializers.CharField(source="server.address", read_only=True)
    port = serializers.IntegerField(source="server.port", read_only=True)

    class Meta:
        model = HealthTransition
        fields = [
            "id",
            "server",
            "upstream",
            "address",
            "port",
            "seq",
            "at",
            "from_status",
            "to_status",
            "reason",
            "detail",
            "status_code",
        ]
        read_only_fields = fields


class HealthAlertSerializer(serializers.ModelSerializer):
    upstream_name = serializers.CharField(source="upstream.name", read_only=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = HealthAlert
        fields = ["id", "upstream", "upstream_name", "kind", "message", "active", "raised_at", "cleared_at"]
        read_only_fields = fields

    def get_active(self, alert: HealthAlert) -> bool:
        return alert.cleared_at is None
