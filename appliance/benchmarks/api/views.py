"""Benchmark runs: list, start (operator), read, cancel (operator), and the report streamed from storage.

The report is read from the `reports` bucket by the appliance and sent in the answer, so no link to the
object store (and no credential in a presigned URL) ever reaches the client. It is served with its own
Content-Security-Policy: inline styles only, no script, sandboxed.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from appliance.audit import services as audit
from appliance.benchmarks import filtersets, services
from appliance.benchmarks.api.serializers import BenchmarkRunSerializer
from appliance.benchmarks.models import BenchmarkRun
from appliance.core.storage import ObjectNotFound, StorageError

REPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; sandbox"
)


_FORMATS = {
    "report": ("text/html; charset=utf-8", "html"),
    "results": ("application/json", "json"),
    "pdf": ("application/pdf", "pdf"),
}


class ReportUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Object storage is unavailable; try again later."
    default_code = "storage_unavailable"


def report_response(run: BenchmarkRun, kind: str, download: bool) -> HttpResponse:
    """The stored report or results as an HTTP answer (shared by the API and the UI)."""
    try:
        data = services.report_bytes(run, kind)
    except ObjectNotFound:
        raise NotFound("This run has no report (yet).") from None
    except StorageError:
        raise ReportUnavailable() from None
    content_type, extension = _FORMATS[kind]
    response = HttpResponse(data, content_type=content_type)
    name = f"benchmark-{run.pk}-{run.scenario}.{extension}"
    attachment = download or kind == "pdf"  # browsers' PDF viewers refuse a sandboxed page: always a file
    response["Content-Disposition"] = f'{"attachment" if attachment else "inline"}; filename="{name}"'
    response["Content-Security-Policy"] = REPORT_POLICY
    response["X-Content-Type-Options"] = "nosniff"
    return response


class BenchmarkRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Benchmark runs, newest first. Creating one queues it; a Celery worker runs it."""

    queryset = BenchmarkRun.objects.select_related("created_by")
    serializer_class = BenchmarkRunSerializer
    filterset_class = filtersets.BenchmarkRunFilterSet
    ordering_fields = ["created", "status", "scenario"]

    def perform_create(self, serializer: BenchmarkRunSerializer) -> None:
        with transaction.atomic():
            run = serializer.save()
            audit.record("create", self.request, obj=run, after=BenchmarkRunSerializer(run).data)

    @extend_schema(request=None, responses=BenchmarkRunSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        before = BenchmarkRunSerializer(run).data
        with transaction.atomic():
            run = services.request_cancel(run)
            after = BenchmarkRunSerializer(run).data
            audit.record("cancel", request, obj=run, before=before, after=after)
        return Response(after)

    @extend_schema(responses={200: OpenApiResponse(description="the HTML report"), 404: None})
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: str | None = None) -> HttpResponse:
        return report_response(self.get_object(), "report", request.query_params.get("download") == "1")

    @extend_schema(responses={200: OpenApiResponse(description="the JSON results"), 404: None})
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str | None = None) -> HttpResponse:
        return report_response(self.get_object(), "results", request.query_params.get("download") == "1")

    @extend_schema(
        responses={200: OpenApiResponse(description="the report printed to PDF, as a file"), 404: None}
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, pk: str | None = None) -> HttpResponse:
        return report_response(self.get_object(), "pdf", download=True)
