"""HTTPS of a virtual server: attach certificates and HTTPS ports (create or edit the binding), remove it.

The binding is checked by the API's `VirtualServerTlsSerializer` (ports that clash with HTTP listeners,
certificate order, CA bundles), saved, audited and marked for the compiler in one transaction, as
`/api/v1/tls-bindings/` does.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from appliance.audit import services as audit
from appliance.lb.models import VirtualServer
from appliance.tls.api.serializers import VirtualServerTlsSerializer
from appliance.tls.models import VirtualServerTls
from webui.access import operator_required
from webui.forms.certificates import VirtualServerTlsForm
from webui.views.common import confirm_delete, mark_for, save_serialized


@operator_required
def virtual_server_tls_edit(request: HttpRequest, pk: int) -> HttpResponse:
    virtual_server = get_object_or_404(VirtualServer, pk=pk)
    binding = VirtualServerTls.objects.filter(virtual_server=virtual_server).first()
    before = dict(VirtualServerTlsSerializer(binding).data) if binding else None
    form = VirtualServerTlsForm(
        request.POST if request.method == "POST" else None, instance=binding, virtual_server=virtual_server
    )
    if form.is_bound and form.is_valid():
        assert form.serializer is not None
        verb = "update" if binding else "create"
        save_serialized(request, verb, form.serializer, before, mark_for(request, verb))
        messages.success(request, f"HTTPS of {virtual_server.name} saved.")
        return redirect("webui:virtual-server-detail", pk=virtual_server.pk)
    context = {"form": form, "virtual_server": virtual_server, "binding": binding}
    return render(request, "webui/virtual_servers/tls_form.html", context)


@operator_required
def virtual_server_tls_delete(request: HttpRequest, pk: int) -> HttpResponse:
    binding = get_object_or_404(VirtualServerTls.objects.select_related("virtual_server"), virtual_server=pk)

    def remove() -> None:
        with transaction.atomic():
            audit.record(
                "delete", request, obj=binding, before=dict(VirtualServerTlsSerializer(binding).data)
            )
            mark_for(request, "delete")(binding)
            binding.delete()

    parent = reverse("webui:virtual-server-detail", args=[pk])
    message = f"HTTPS of {binding.virtual_server.name} removed."
    return confirm_delete(request, binding, "HTTPS binding", parent, parent, remove, message)
