"""API viewsets: a queryset, a serializer and a filterset each; every change marks desired state."""

from __future__ import annotations

from django.db import transaction
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from appliance.lb import filtersets, services
from appliance.lb.api import serializers as s
from appliance.lb.models import ConfigRevision, Route, Server, Upstream, VirtualServer


class ChangeViewSet(viewsets.ModelViewSet):
    """Create/update/delete in one transaction with the generation bump that carries them to nginx.

    The response's `X-Config-Generation` header names the generation; `revisions/` shows the revision
    built from it and when every node serves it.
    """

    def _change(self, verb: str, save) -> None:  # type: ignore[no-untyped-def]
        with transaction.atomic():
            obj = save()
            label = self.queryset.model._meta.verbose_name
            self.generation = services.mark_changed(f"{verb} {label} {obj}", self.request.user.get_username())

    def perform_create(self, serializer) -> None:  # type: ignore[no-untyped-def]
        self._change("create", serializer.save)

    def perform_update(self, serializer) -> None:  # type: ignore[no-untyped-def]
        self._change("update", serializer.save)

    def perform_destroy(self, instance) -> None:  # type: ignore[no-untyped-def]
        def delete():  # type: ignore[no-untyped-def]
            instance.delete()
            return instance

        self._change("delete", delete)

    def finalize_response(self, request, response, *args, **kwargs):  # type: ignore[no-untyped-def]
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
    queryset = Route.objects.select_related("virtual_server", "upstream")
    serializer_class = s.RouteSerializer
    filterset_class = filtersets.RouteFilterSet
    ordering_fields = ["priority"]


class ConfigRevisionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = ConfigRevision.objects.select_related("previous", "rollback_of").prefetch_related(
        "node_statuses__node"
    )
    filterset_class = filtersets.ConfigRevisionFilterSet
    ordering_fields = ["number", "created"]

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        return s.ConfigRevisionDetailSerializer if self.action == "retrieve" else s.ConfigRevisionSerializer

    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, pk: str | None = None) -> Response:
        revision = services.rollback(self.get_object(), request.user.get_username())
        return Response(s.ConfigRevisionSerializer(revision).data, status=status.HTTP_201_CREATED)
