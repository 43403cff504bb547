"""API viewsets: a queryset, a serializer and a filterset each; every change marks desired state.

Every change is audited with before/after snapshots in the transaction that makes it. Single objects carry
an ETag; PUT/PATCH/DELETE honour `If-Match` (412 when stale).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import ProtectedError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from appliance.audit import services as audit
from appliance.lb import filtersets, gateway_services, services
from appliance.lb.api import gateway_serializers as gs
from appliance.lb.api import serializers as s
from appliance.lb.api.etags import check_if_match, etag_of
from appliance.lb.models import ConfigRevision, Route, Server, Upstream, VirtualServer

WRITES = frozenset({"PUT", "PATCH", "DELETE"})
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag you read (or `*`); the write fails with 412 if the object changed since.",
)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is still in use."
    default_code = "conflict"


class ETagMixin:
    """An `ETag` on every answer that carries one whole object."""

    etag_actions = frozenset({"retrieve", "create", "update", "partial_update"})

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        data = getattr(response, "data", None)
        if getattr(self, "action", None) in self.etag_actions and response.status_code < 300 and data:
            response["ETag"] = etag_of(data)
        return response


@extend_schema_view(
    update=extend_schema(parameters=[IF_MATCH]),
    partial_update=extend_schema(parameters=[IF_MATCH]),
    destroy=extend_schema(parameters=[IF_MATCH]),
)
class ChangeViewSet(ETagMixin, viewsets.ModelViewSet):
    """Create/update/delete in one transaction with the generation bump that carries them to nginx.

    The response's `X-Config-Generation` header names the generation; `revisions/` shows the revision
    built from it and when every node serves it.
    """

    def get_queryset(self):  # type: ignore[no-untyped-def]
        queryset = super().get_queryset()
        if self.request.method in WRITES:
            # Held until the write commits: a concurrent write with the same If-Match then sees the new ETag.
            queryset = queryset.select_for_update(of=("self",))
        return queryset

    def get_object(self):  # type: ignore[no-untyped-def]
        obj = super().get_object()
        if self.request.method in WRITES:
            self.before = self.get_serializer(obj).data
            check_if_match(self.request, self.before)
        return obj

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return super().update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return super().destroy(request, *args, **kwargs)

    def _mark(self, verb: str, obj: Any) -> None:
        label = self.queryset.model._meta.verbose_name
        self.generation = services.mark_changed(f"{verb} {label} {obj}", self.request.user.get_username())

    def perform_create(self, serializer) -> None:  # type: ignore[no-untyped-def]
        with transaction.atomic():
            obj = serializer.save()
            audit.record("create", self.request, obj=obj, after=serializer.data)
            self._mark("create", obj)

    def perform_update(self, serializer) -> None:  # type: ignore[no-untyped-def]
        with transaction.atomic():
            obj = serializer.save()
            audit.record("update", self.request, obj=obj, before=self.before, after=serializer.data)
            self._mark("update", obj)

    def perform_destroy(self, instance) -> None:  # type: ignore[no-untyped-def]
        try:
            with transaction.atomic():
                audit.record("delete", self.request, obj=instance, before=self.before)
                self._mark("delete", instance)
                instance.delete()
        except ProtectedError as exc:
            used_by = sorted({str(o) for o in exc.protected_objects})[:10]
            raise Conflict(f"still used by: {', '.join(used_by)}") from None

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        if hasattr(self, "generation"):
            response["X-Config-Generation"] = str(self.generation)
        return super().finalize_response(request, response, *args, **kwargs)


class UpstreamViewSet(ChangeViewSet):
    queryset = Upstream.objects.all()
    serializer_class = s.UpstreamSerializer
    filterset_class = filtersets.UpstreamFilterSet
    ordering_fields = ["name", "created"]


class ServerViewSet(ChangeViewSet):
    queryset = Server.objects.select_related("upstream")
    serializer_class = s.ServerSerializer
    filterset_class = filtersets.ServerFilterSet
    ordering_fields = ["address", "port", "weight"]


class VirtualServerViewSet(ChangeViewSet):
    queryset = VirtualServer.objects.all()
    serializer_class = s.VirtualServerSerializer
    filterset_class = filtersets.VirtualServerFilterSet
    ordering_fields = ["name"]


class RouteViewSet(ChangeViewSet):
    queryset = Route.objects.select_related("virtual_server", "upstream", "canary_upstream")
    serializer_class = s.RouteSerializer
    filterset_class = filtersets.RouteFilterSet
    ordering_fields = ["priority"]

    @extend_schema(request=gs.RouteSampleSerializer, responses={200: gs.RouteDecisionSerializer})
    @action(detail=False, methods=["post"])
    def match(self, request: Request) -> Response:
        """Which route a sample request would take, by the compiler's own precedence rules."""
        sample = gs.RouteSampleSerializer(data=request.data)
        sample.is_valid(raise_exception=True)
        data = dict(sample.validated_data)
        return Response(gateway_services.match_route(data.pop("virtual_server"), data))


class ConfigRevisionViewSet(
    ETagMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    queryset = ConfigRevision.objects.select_related("previous", "rollback_of").prefetch_related(
        "node_statuses__node"
    )
    filterset_class = filtersets.ConfigRevisionFilterSet
    ordering_fields = ["number", "created"]

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        return s.ConfigRevisionDetailSerializer if self.action == "retrieve" else s.ConfigRevisionSerializer

    @extend_schema(request=None, responses={201: OpenApiResponse(s.ConfigRevisionSerializer)})
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, pk: str | None = None) -> Response:
        """Put this revision's files live again, as a new revision (the stored objects are unchanged)."""
        target = self.get_object()
        with transaction.atomic():
            revision = services.rollback(target, request.user.get_username())
            data = s.ConfigRevisionSerializer(revision).data
            audit.record("rollback", request, obj=target, after=data)
        return Response(data, status=status.HTTP_201_CREATED)
