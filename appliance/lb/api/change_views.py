"""Change sets (`change-sets/`: several changes, one revision, all or nothing) and dry runs (`preview/`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from appliance.lb import services
from appliance.lb.api import changesets
from appliance.lb.api.preview import preview

MAX_OPERATIONS = 200


@extend_schema_field(
    {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": r"^\$[0-9]{1,4}$"}]}
)
class ReferenceField(serializers.Field):
    """An object id, or `"$i"`: the object created by operation i of the same change set."""

    default_error_messages = {"invalid": 'Expected a positive integer id or "$<operation index>".'}

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, int) and not isinstance(data, bool) and 0 < data < 2**63:
            return data
        if isinstance(data, str) and changesets.REFERENCE.fullmatch(data):
            return data
        self.fail("invalid")

    def to_representation(self, value: Any) -> Any:
        return value


class OperationSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=["create", "update", "delete"])
    resource = serializers.ChoiceField(choices=sorted(changesets.RESOURCES))
    id = ReferenceField(required=False, help_text="Required for update and delete.")
    if_match = serializers.CharField(
        required=False, max_length=200, help_text="The ETag you read; the set fails with 412 if it changed."
    )
    data = serializers.DictField(
        required=False, default=dict, help_text="Fields as for the resource's own endpoint (update = PATCH)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["op"] == "create" and "id" in attrs:
            raise serializers.ValidationError({"id": ["a create takes no id"]})
        if attrs["op"] != "create" and "id" not in attrs:
            raise serializers.ValidationError({"id": [f"required for {attrs['op']}"]})
        return attrs


class ChangeSetSerializer(serializers.Serializer):
    operations = serializers.ListField(
        child=OperationSerializer(), min_length=1, max_length=MAX_OPERATIONS, allow_empty=False
    )


class OperationResultSerializer(serializers.Serializer):
    op = serializers.CharField()
    resource = serializers.CharField()
    id = serializers.IntegerField()
    etag = serializers.CharField(allow_null=True)
    data = serializers.DictField(allow_null=True)


class ChangeSetResultSerializer(serializers.Serializer):
    generation = serializers.IntegerField(help_text="The desired-state generation carrying every change.")
    results = OperationResultSerializer(many=True)


class NginxTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    output = serializers.CharField(allow_blank=True)


class PreviewSerializer(serializers.Serializer):
    base_revision = serializers.IntegerField(
        allow_null=True, help_text="The newest revision, diffed against."
    )
    changed = serializers.BooleanField()
    checksum = serializers.CharField(allow_blank=True)
    diff = serializers.CharField(allow_blank=True)
    quarantined = serializers.ListField(child=serializers.DictField())
    compile_error = serializers.CharField(allow_blank=True)
    nginx_test = NginxTestSerializer()
    valid = serializers.BooleanField(help_text="Compiles and `nginx -t` accepts it.")


class ChangeSetViewSet(viewsets.GenericViewSet):
    serializer_class = ChangeSetSerializer

    @extend_schema(responses={201: ChangeSetResultSerializer})
    def create(self, request: Request) -> Response:
        """Apply every operation, in order, as one change (one revision); any error and nothing is written."""
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        operations = body.validated_data["operations"]
        with transaction.atomic():
            results = changesets.apply(operations, request)
            summary = ", ".join(f"{o['op']} {o['resource']}" for o in operations[:10])
            generation = services.mark_changed(
                f"change set ({len(operations)}): {summary}", request.user.get_username()
            )
        response = Response({"generation": generation, "results": results}, status=status.HTTP_201_CREATED)
        response["X-Config-Generation"] = str(generation)
        return response


class PreviewViewSet(viewsets.GenericViewSet):
    serializer_class = ChangeSetSerializer

    @extend_schema(responses={200: PreviewSerializer})
    def create(self, request: Request) -> Response:
        """Dry run of a change set: its diff and whether `nginx -t` accepts it; nothing is kept."""
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(preview(body.validated_data["operations"], request))
