"""One serializer per model; model `clean()` rules run here too, so API and UI refuse the same input."""

from __future__ import annotations

import difflib

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from appliance.lb.models import ConfigRevision, NodeRevisionStatus, Route, Server, Upstream, VirtualServer


class CleanModelSerializer(serializers.ModelSerializer):
    """Runs the model's cross-field `clean()` on the would-be instance and maps errors to fields."""

    def validate(self, attrs: dict) -> dict:
        model = self.Meta.model
        instance = self.instance or model()
        candidate = model(**{f.attname: getattr(instance, f.attname) for f in model._meta.concrete_fields})
        candidate.pk = instance.pk
        for name, value in attrs.items():
            setattr(candidate, name, value)
        try:
            candidate.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs


class UpstreamSerializer(CleanModelSerializer):
    server_count = serializers.IntegerField(source="servers.count", read_only=True)

    class Meta:
        model = Upstream
        fields = [
            "id",
            "name",
            "algorithm",
            "hash_key",
            "hash_key_name",
            "hash_consistent",
            "keepalive",
            "connect_timeout_ms",
            "read_timeout_s",
            "send_timeout_s",
            "retry_conditions",
            "retry_tries",
            "retry_timeout_s",
            "retry_non_idempotent",
            "server_count",
            "created",
            "updated",
        ]


class ServerSerializer(CleanModelSerializer):
    class Meta:
        model = Server
        fields = [
            "id",
            "upstream",
            "address",
            "port",
            "weight",
            "max_fails",
            "fail_timeout_s",
            "max_conns",
            "backup",
            "state",
            "quarantine_reason",
            "created",
            "updated",
        ]


class VirtualServerSerializer(CleanModelSerializer):
    class Meta:
        model = VirtualServer
        fields = ["id", "name", "hostnames", "http_ports", "default_upstream", "created", "updated"]

    def validate_http_ports(self, ports: list[int]) -> list[int]:
        if not ports:
            raise serializers.ValidationError("at least one port is required")
        if len(set(ports)) != len(ports):
            raise serializers.ValidationError("ports must not repeat")
        return sorted(ports)


class RouteSerializer(CleanModelSerializer):
    class Meta:
        model = Route
        fields = [
            "id",
            "virtual_server",
            "priority",
            "path_kind",
            "path_prefix",
            "host",
            "methods",
            "header_name",
            "header_match",
            "header_value",
            "cookie_name",
            "cookie_match",
            "cookie_value",
            "query_name",
            "query_match",
            "query_value",
            "action",
            "upstream",
            "strip_prefix",
            "rewrite_prefix",
            "request_headers",
            "request_headers_remove",
            "response_headers",
            "response_headers_remove",
            "canary_upstream",
            "canary_weight",
            "canary_header",
            "canary_header_value",
            "canary_cookie",
            "canary_cookie_value",
            "redirect_status",
            "redirect_url",
            "respond_status",
            "respond_body",
        ]


class NodeRevisionStatusSerializer(serializers.ModelSerializer):
    node = serializers.CharField(source="node.name")

    class Meta:
        model = NodeRevisionStatus
        fields = ["node", "status", "message", "duration_ms", "updated"]


class ConfigRevisionSerializer(serializers.ModelSerializer):
    previous = serializers.IntegerField(source="previous.number", read_only=True, allow_null=True)
    rollback_of = serializers.IntegerField(source="rollback_of.number", read_only=True, allow_null=True)
    nodes = NodeRevisionStatusSerializer(source="node_statuses", many=True, read_only=True)

    class Meta:
        model = ConfigRevision
        fields = [
            "id",
            "number",
            "status",
            "checksum",
            "cause",
            "author",
            "created",
            "error",
            "culprits",
            "quarantined",
            "previous",
            "rollback_of",
            "nodes",
        ]
        read_only_fields = fields


class ConfigRevisionDetailSerializer(ConfigRevisionSerializer):
    diff = serializers.SerializerMethodField()

    class Meta(ConfigRevisionSerializer.Meta):
        fields = [*ConfigRevisionSerializer.Meta.fields, "files", "diff"]
        read_only_fields = fields

    def get_diff(self, revision: ConfigRevision) -> str:
        """Unified diff of the rendered files against the revision numbered just before it."""
        before = ConfigRevision.objects.filter(number__lt=revision.number).order_by("-number").first()
        return unified_diff(before.files if before else {}, revision.files)


def unified_diff(old: dict[str, str], new: dict[str, str]) -> str:
    chunks = []
    for path in sorted(set(old) | set(new)):
        chunks.extend(
            difflib.unified_diff(
                old.get(path, "").splitlines(keepends=True),
                new.get(path, "").splitlines(keepends=True),
                fromfile=f"a/{path}",
                tofile=f"b/{path}",
            )
        )
    return "".join(chunks)
