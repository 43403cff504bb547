"""Serializer of audit events (read-only)."""

from rest_framework import serializers

from appliance.audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "time",
            "actor",
            "actor_kind",
            "api_token",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "detail",
            "request_id",
            "client_ip",
            "outcome",
        ]
        read_only_fields = fields
