"""ACME accounts: everyone reads them, admins add, edit and delete them (as `/api/v1/acme-accounts/`).

An account holds no secret in PostgreSQL (its key is sealed in object storage by the worker that
registers it); a change configures nothing nginx serves, so it is audited but marks no generation.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from appliance.audit import services as audit
from appliance.tls.api.serializers import AcmeAccountSerializer
from appliance.tls.models import AcmeAccount
from webui.access import admin_required, viewer_required
from webui.filtersets import AcmeAccountSearchFilterSet
from webui.forms.certificates import AcmeAccountForm
from webui.views.common import confirm_delete, filtered_page, protecting, save_serialized


@require_safe
@viewer_required
def acme_account_list(request: HttpRequest) -> HttpResponse:
    queryset = AcmeAccount.objects.annotate(certificate_count=Count("certificates")).order_by("name")
    filterset, page = filtered_page(request, AcmeAccountSearchFilterSet, queryset)
    return render(request, "webui/certificates/acme_account_list.html", {"filter": filterset, "page": page})


def _edit(request: HttpRequest, account: AcmeAccount | None) -> HttpResponse:
    before = dict(AcmeAccountSerializer(account).data) if account else None
    form = AcmeAccountForm(request.POST if request.method == "POST" else None, instance=account)
    if form.is_bound and form.is_valid():
        assert form.serializer is not None
        saved = save_serialized(request, "update" if account else "create", form.serializer, before)
        messages.success(request, f"ACME account {saved} saved.")
        return redirect("webui:acme-account-list")
    cancel = reverse("webui:acme-account-list")
    context = {"form": form, "kind": "ACME account", "object": account, "cancel": cancel}
    return render(request, "webui/kubernetes/form.html", context)


@admin_required
def acme_account_add(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@admin_required
def acme_account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, get_object_or_404(AcmeAccount, pk=pk))


@admin_required
def acme_account_delete(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(AcmeAccount, pk=pk)

    def remove() -> None:
        with transaction.atomic():
            audit.record("delete", request, obj=account, before=dict(AcmeAccountSerializer(account).data))
            account.delete()

    back = reverse("webui:acme-account-list")
    return confirm_delete(
        request,
        account,
        "ACME account",
        back,
        back,
        remove,
        users=lambda exc: [f"certificate {name}" for name in protecting(exc)],
    )
