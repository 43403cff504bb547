"""Serializers of the gateway API: sticky and rate-limit policies, and the route matcher's sample/answer."""

from __future__ import annotations

from rest_framework import serializers

from appliance.lb.api.serializers import CleanModelSerializer
from appliance.lb.choices import HttpMethod
from appliance.lb.gateway_models import PER_NODE
from appliance.lb.models import RateLimitPolicy, StickyPolicy, VirtualServer


class StickyPolicySerializer(CleanModelSerializer):
    class Meta:
        model = StickyPolicy
        fields = [
            "id",
            "upstream",
            "kind",
            "cookie_name",
            "cookie_ttl_s",
            "cookie_path",
            "cookie_secure",
            "cookie_http_only",
            "cookie_same_site",
            "header_name",
        ]


class RateLimitPolicySerializer(CleanModelSerializer):
    class Meta:
        model = RateLimitPolicy
        fields = [
            "id",
            "name",
            "rate",
            "unit",
            "burst",
            "nodelay",
            "delay",
            "key",
            "key_header",
            "connections",
            "rate_status",
            "conn_status",
            "retry_after_s",
            "exempt",
            "virtual_servers",
            "routes",
        ]
        extra_kwargs = {"virtual_servers": {"help_text": PER_NODE}, "routes": {"help_text": PER_NODE}}

    def validate(self, attrs: dict) -> dict:
        # Attachments are not part of the policy's own rules (and cannot be set on an unsaved model).
        attachments = {key: attrs.pop(key) for key in ("virtual_servers", "routes") if key in attrs}
        return {**super().validate(attrs), **attachments}


def _values() -> serializers.DictField:
    return serializers.DictField(child=serializers.CharField(max_length=4096, allow_blank=True), default=dict)


class RouteSampleSerializer(serializers.Serializer):
    """A sample request; fields as nginx sees them. Nothing here reaches nginx."""

    virtual_server = serializers.PrimaryKeyRelatedField(queryset=VirtualServer.objects.all())
    method = serializers.ChoiceField(choices=HttpMethod.choices, default=HttpMethod.GET)
    host = serializers.CharField(max_length=260, allow_blank=True, default="")
    path = serializers.CharField(max_length=4096, default="/")
    headers = _values()
    cookies = _values()
    query = _values()


class RouteDecisionSerializer(serializers.Serializer):
    route = serializers.IntegerField(
        allow_null=True, help_text="The route that takes the request; null: none."
    )
    action = serializers.ChoiceField(choices=["forward", "redirect", "respond", "not_found"])
    upstream = serializers.CharField(allow_null=True)
    path = serializers.CharField(help_text="The path the upstream receives.")
    canary_upstream = serializers.CharField(allow_null=True)
    canary_reason = serializers.CharField(
        allow_null=True, help_text="header or cookie: sent to the canary; weight: that share is."
    )
    canary_weight = serializers.IntegerField()
