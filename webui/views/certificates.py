"""Certificate pages: list with expiry and users, detail, upload (new or a new version), generate, ACME,
renew, delete.

Every change goes through `appliance.tls.services`, checked first by the API's input serializers (through
`webui.forms.certificates`) and audited with the API's snapshot. Private keys are posted, never shown:
the forms do not render them back and the views are marked so error reports leave them out.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.db import transaction
from django.db.models import Prefetch, ProtectedError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_safe

from appliance.audit import services as audit
from appliance.core.storage import StorageError
from appliance.lb import services as lb_services
from appliance.tls import pem, services
from appliance.tls.api.serializers import CertificateSerializer
from appliance.tls.models import Certificate, TlsCertificate, VirtualServerTls
from webui.access import operator_required, viewer_required
from webui.filtersets import CertificateSearchFilterSet
from webui.forms.certificates import (
    CertificateAcmeForm,
    CertificateGenerateForm,
    CertificateUploadForm,
    CertificateVersionForm,
)
from webui.forms.serialized import SerializerForm
from webui.views.common import confirm_delete, filtered_page

STORAGE_DOWN = "Object storage is unavailable; nothing was changed. Try again later."
USERS = Prefetch(
    "bindings",
    queryset=VirtualServerTls.objects.select_related("virtual_server").only(
        "id", "virtual_server", "virtual_server__name"
    ),
)


def with_expiry(cert: Certificate) -> Certificate:
    """`days_left` and `expiring` as the API reports them (one warning window for every page)."""
    shape = CertificateSerializer()
    cert.days_left = shape.get_days_left(cert)
    cert.expiring = shape.get_expiring(cert)
    return cert


@require_safe
@viewer_required
def certificate_list(request: HttpRequest) -> HttpResponse:
    queryset = Certificate.objects.prefetch_related(USERS).order_by("name")
    filterset, page = filtered_page(request, CertificateSearchFilterSet, queryset)
    for cert in page:
        with_expiry(cert)
    return render(request, "webui/certificates/list.html", {"filter": filterset, "page": page})


@require_safe
@viewer_required
def certificate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cert = get_object_or_404(
        Certificate.objects.select_related("acme_account", "acme_virtual_server").prefetch_related(USERS),
        pk=pk,
    )
    context = {"cert": with_expiry(cert), "orders": cert.acme_orders.all()[:10]}
    return render(request, "webui/certificates/detail.html", context)


@sensitive_variables("form")
def _create(
    request: HttpRequest, form: SerializerForm, make: Callable[[dict], Certificate], verb: str
) -> HttpResponse:
    """Validate, create through the service, audit; a refused PEM or a storage outage is shown in place."""
    template = "webui/certificates/form.html"
    context = {"form": form, "verb": verb}
    if not (form.is_bound and form.is_valid()):
        return render(request, template, context)
    try:
        with transaction.atomic():
            cert = make(form.validated)
            audit.record("create", request, obj=cert, after=dict(CertificateSerializer(cert).data))
    except pem.PemError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        return render(request, template, context)
    except StorageError:
        form.add_error(None, STORAGE_DOWN)
        return render(request, template, context, status=503)
    messages.success(request, f"Certificate {cert.name} created.")
    return redirect("webui:certificate-detail", pk=cert.pk)


@sensitive_variables()
@sensitive_post_parameters("private_key")
@operator_required
def certificate_upload(request: HttpRequest) -> HttpResponse:
    form = CertificateUploadForm(request.POST if request.method == "POST" else None)
    user = request.user.get_username()
    return _create(
        request,
        form,
        lambda d: services.upload(d["name"], d["chain_pem"], d["private_key"], user),
        "Upload a certificate",
    )


@sensitive_variables()
@sensitive_post_parameters("private_key")
@operator_required
def certificate_version_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """A new chain + key for an uploaded or self-signed certificate (`POST .../{id}/upload/`)."""
    cert = get_object_or_404(Certificate, pk=pk)
    form = CertificateVersionForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "verb": f"Upload a new version of {cert.name}", "cert": cert}
    if not (form.is_bound and form.is_valid()):
        return render(request, "webui/certificates/form.html", context)
    before, data, user = dict(CertificateSerializer(cert).data), form.validated, request.user.get_username()
    try:
        with transaction.atomic():
            services.replace(cert, data["chain_pem"], data["private_key"], user)
            after = dict(CertificateSerializer(cert).data)
            audit.record("update", request, obj=cert, before=before, after=after)
    except pem.PemError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        return render(request, "webui/certificates/form.html", context)
    except StorageError:
        form.add_error(None, STORAGE_DOWN)
        return render(request, "webui/certificates/form.html", context, status=503)
    messages.success(
        request, f"New version of {cert.name} stored; virtual servers using it switch at reload."
    )
    return redirect("webui:certificate-detail", pk=cert.pk)


@operator_required
def certificate_generate(request: HttpRequest) -> HttpResponse:
    form = CertificateGenerateForm(request.POST if request.method == "POST" else None)
    return _create(
        request,
        form,
        lambda d: services.generate_self_signed(d["name"], d["dns_names"], d["key_type"], d["days"]),
        "Generate a self-signed certificate",
    )


@operator_required
def certificate_acme(request: HttpRequest) -> HttpResponse:
    form = CertificateAcmeForm(request.POST if request.method == "POST" else None)
    return _create(
        request,
        form,
        lambda d: services.request_acme(
            d["name"], d["domains"], d["acme_account"], d["virtual_server"], d["key_type"]
        ),
        "Request a certificate over ACME",
    )


@operator_required
def certificate_renew(request: HttpRequest, pk: int) -> HttpResponse:
    """Renew now, as `POST /api/v1/certificates/{id}/renew/`: ACME orders, self-signed re-signs."""
    cert = get_object_or_404(Certificate, pk=pk)
    if request.method != "POST":
        return render(request, "webui/certificates/confirm_renew.html", {"cert": cert})
    try:
        with transaction.atomic():
            services.renew(cert)
            cert.refresh_from_db()
            after = dict(CertificateSerializer(cert).data)
            audit.record("update", request, obj=cert, after=after, detail={"action": "renew"})
    except pem.PemError as exc:
        messages.error(request, f"Cannot renew {cert.name}: {exc}")
    except StorageError:
        messages.error(request, STORAGE_DOWN)
    else:
        messages.success(request, f"Renewal of {cert.name} started.")
    return redirect("webui:certificate-detail", pk=cert.pk)


@operator_required
def certificate_delete(request: HttpRequest, pk: int) -> HttpResponse:
    cert = get_object_or_404(Certificate, pk=pk)

    def remove() -> None:
        with transaction.atomic():
            audit.record("delete", request, obj=cert, before=dict(CertificateSerializer(cert).data))
            lb_services.mark_changed(f"delete certificate {cert}", request.user.get_username())
            cert.delete()

    cancel, done = reverse("webui:certificate-detail", args=[cert.pk]), reverse("webui:certificate-list")
    message = f"Certificate {cert.name} deleted."
    then = "take it off those first"
    return confirm_delete(request, cert, "certificate", cancel, done, remove, message, then, _users)


def _users(exc: ProtectedError) -> list[str]:
    """The virtual servers whose TLS binding holds the certificate (what the refusal should name)."""
    ids = [obj.pk for obj in exc.protected_objects]
    bindings = TlsCertificate.objects.filter(pk__in=ids).select_related("binding__virtual_server")
    return sorted({f"virtual server {tc.binding.virtual_server.name}" for tc in bindings})[:10]
