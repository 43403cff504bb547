"""TLS API: certificates (read, upload, generate, ACME, new version, renew, delete), ACME accounts and
the TLS bindings of virtual servers. Bodies call `appliance.tls.services`; every change is audited.

Private keys go in (upload) and never come out. An object-storage outage answers 503, and nothing is
recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import ProtectedError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from appliance.accounts.roles import Role
from appliance.audit import services as audit
from appliance.core.storage import StorageError
from appliance.lb import services as lb_services
from appliance.lb.api.views import ChangeViewSet, Conflict
from appliance.tls import filtersets, pem, services
from appliance.tls.api import serializers as s
from appliance.tls.models import AcmeAccount, Certificate, VirtualServerTls

T = TypeVar("T")


class StorageUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Object storage is unavailable; nothing was changed. Try again later."
    default_code = "storage_unavailable"


def _guarded(change: Callable[[], T]) -> T:
    """Run a certificate change; refused PEM is a field error, a storage outage a 503."""
    try:
        return change()
    except pem.PemError as exc:
        raise ValidationError({exc.field: [str(exc)]}) from None
    except StorageError as exc:
        raise StorageUnavailable(f"Object storage is unavailable; nothing was changed ({exc}).") from None


class CertificateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Certificates with expiry (`days_left`, `expiring`); created by the upload/generate/acme actions."""

    queryset = Certificate.objects.all()
    serializer_class = s.CertificateSerializer
    filterset_class = filtersets.CertificateFilterSet
    ordering_fields = ["name", "not_after", "created"]

    def _created(self, request: Request, cert: Certificate, code: int = status.HTTP_201_CREATED) -> Response:
        data = s.CertificateSerializer(cert).data
        audit.record("create", request, obj=cert, after=data)
        return Response(data, status=code)

    def _input(self, request: Request, serializer_class: type) -> dict[str, Any]:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @extend_schema(request=s.CertificateUploadSerializer, responses={201: s.CertificateSerializer})
    @action(detail=False, methods=["post"])
    def upload(self, request: Request) -> Response:
        """Upload a PEM chain (leaf first) and its private key; the key is sealed and never shown again."""
        data = self._input(request, s.CertificateUploadSerializer)
        user = request.user.get_username()
        cert = _guarded(lambda: services.upload(data["name"], data["chain_pem"], data["private_key"], user))
        return self._created(request, cert)

    @extend_schema(request=s.CertificateGenerateSerializer, responses={201: s.CertificateSerializer})
    @action(detail=False, methods=["post"])
    def generate(self, request: Request) -> Response:
        """Generate a key and a self-signed certificate for the given DNS names."""
        data = self._input(request, s.CertificateGenerateSerializer)
        cert = _guarded(
            lambda: services.generate_self_signed(
                data["name"], data["dns_names"], data["key_type"], data["days"]
            )
        )
        return self._created(request, cert)

    @extend_schema(request=s.CertificateAcmeSerializer, responses={202: s.CertificateSerializer})
    @action(detail=False, methods=["post"])
    def acme(self, request: Request) -> Response:
        """Request a certificate over ACME (HTTP-01 answered by the virtual server's HTTP listeners)."""
        data = self._input(request, s.CertificateAcmeSerializer)
        cert = services.request_acme(
            data["name"], data["domains"], data["acme_account"], data["virtual_server"], data["key_type"]
        )
        return self._created(request, cert, status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=s.PemPairSerializer,
        responses={200: s.CertificateSerializer},
        operation_id="certificates_new_version",
    )
    @action(detail=True, methods=["post"], url_path="upload")
    def new_version(self, request: Request, pk: str | None = None) -> Response:
        """Upload a new version (chain + key); bound virtual servers switch with the next reload."""
        cert = self.get_object()
        before = s.CertificateSerializer(cert).data
        data = self._input(request, s.PemPairSerializer)
        user = request.user.get_username()
        cert = _guarded(lambda: services.replace(cert, data["chain_pem"], data["private_key"], user))
        after = s.CertificateSerializer(cert).data
        audit.record("update", request, obj=cert, before=before, after=after)
        return Response(after)

    @extend_schema(request=None, responses={202: OpenApiResponse(s.CertificateSerializer)})
    @action(detail=True, methods=["post"])
    def renew(self, request: Request, pk: str | None = None) -> Response:
        """Renew now: ACME starts an order, self-signed gets a fresh version; uploaded ones cannot."""
        cert = self.get_object()
        _guarded(lambda: services.renew(cert))
        cert.refresh_from_db()
        data = s.CertificateSerializer(cert).data
        audit.record("update", request, obj=cert, after=data, detail={"action": "renew"})
        return Response(data, status=status.HTTP_202_ACCEPTED)

    def perform_destroy(self, instance: Certificate) -> None:
        try:
            with transaction.atomic():
                audit.record(
                    "delete", self.request, obj=instance, before=s.CertificateSerializer(instance).data
                )
                lb_services.mark_changed(f"delete certificate {instance}", self.request.user.get_username())
                instance.delete()
        except ProtectedError as exc:
            used_by = sorted({str(o) for o in exc.protected_objects})[:10]
            raise Conflict(f"still used by: {', '.join(used_by)}") from None


class AcmeAccountViewSet(ChangeViewSet):
    """ACME CA accounts (directory, contact, trust anchors for a private CA): admins only."""

    queryset = AcmeAccount.objects.all()
    serializer_class = s.AcmeAccountSerializer
    filterset_class = filtersets.AcmeAccountFilterSet
    required_role = Role.ADMIN
    ordering_fields = ["name"]


class VirtualServerTlsViewSet(ChangeViewSet):
    """HTTPS of a virtual server: ports, certificates by SNI, redirect, HSTS, mTLS, upstream TLS."""

    queryset = VirtualServerTls.objects.select_related("virtual_server").prefetch_related("positions")
    serializer_class = s.VirtualServerTlsSerializer
    filterset_class = filtersets.VirtualServerTlsFilterSet
    ordering_fields = ["virtual_server__name"]
