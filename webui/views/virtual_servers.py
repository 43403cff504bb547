"""Virtual server pages: list, detail with its routes in the order nginx tries them and its HTTPS binding,
the route tester, create, edit, delete."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from appliance.lb import gateway_services
from appliance.lb.filtersets import VirtualServerFilterSet
from appliance.lb.models import Route, VirtualServer
from appliance.tls.models import TlsCertificate, VirtualServerTls
from webui.access import operator_required, viewer_required
from webui.forms.virtual_servers import RouteSampleForm, VirtualServerForm
from webui.views.common import confirm_delete, delete_change, filtered_page, save_change, snapshot


@require_safe
@viewer_required
def virtual_server_list(request: HttpRequest) -> HttpResponse:
    queryset = VirtualServer.objects.select_related("default_upstream").annotate(route_count=Count("routes"))
    queryset = queryset.order_by("name")
    filterset, page = filtered_page(request, VirtualServerFilterSet, queryset)
    return render(request, "webui/virtual_servers/list.html", {"filter": filterset, "page": page})


@require_safe
@viewer_required
def virtual_server_detail(request: HttpRequest, pk: int) -> HttpResponse:
    virtual_server = get_object_or_404(VirtualServer.objects.select_related("default_upstream"), pk=pk)
    routes = virtual_server.routes.select_related("upstream", "canary_upstream").order_by(
        "priority", "path_prefix"
    )
    context = {
        "virtual_server": virtual_server,
        "routes": routes,
        "tls": tls_binding(virtual_server),
        "sample_form": RouteSampleForm(virtual_server=virtual_server),
    }
    return render(request, "webui/virtual_servers/detail.html", context)


def tls_binding(virtual_server: VirtualServer) -> VirtualServerTls | None:
    """The virtual server's HTTPS binding with its certificates in SNI order, or None."""
    positions = TlsCertificate.objects.select_related("certificate").order_by("position")
    return (
        VirtualServerTls.objects.filter(virtual_server=virtual_server)
        .prefetch_related(Prefetch("positions", queryset=positions))
        .first()
    )


@require_safe
@viewer_required
def virtual_server_route_test(request: HttpRequest, pk: int) -> HttpResponse:
    """The route tester: which route a sample request takes (`POST /api/v1/routes/match/`'s answer).

    A GET, since it changes nothing: viewers may use it. htmx swaps in the partial; without htmx the
    whole page is answered.
    """
    virtual_server = get_object_or_404(VirtualServer, pk=pk)
    form = RouteSampleForm(request.GET or None, virtual_server=virtual_server)
    decision = None
    if form.is_bound and form.is_valid():
        sample = form.validated
        decision = gateway_services.match_route(sample.pop("virtual_server"), sample)
        route_id = decision["route"]
        decision["route_object"] = Route.objects.filter(pk=route_id).first() if route_id else None
    context = {"virtual_server": virtual_server, "sample_form": form, "decision": decision}
    if request.headers.get("HX-Request"):
        return render(request, "webui/virtual_servers/_route_test.html", context)
    return render(request, "webui/virtual_servers/route_test.html", context)


@operator_required
def virtual_server_add(request: HttpRequest) -> HttpResponse:
    form = VirtualServerForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        virtual_server = save_change(request, "create", form.save)
        messages.success(request, f"Virtual server {virtual_server} created.")
        return redirect("webui:virtual-server-detail", pk=virtual_server.pk)
    return render(request, "webui/virtual_servers/form.html", {"form": form})


@operator_required
def virtual_server_edit(request: HttpRequest, pk: int) -> HttpResponse:
    virtual_server = get_object_or_404(VirtualServer, pk=pk)
    before = snapshot(virtual_server)
    form = VirtualServerForm(request.POST if request.method == "POST" else None, instance=virtual_server)
    if form.is_bound and form.is_valid():
        save_change(request, "update", form.save, before)
        messages.success(request, f"Virtual server {virtual_server} saved.")
        return redirect("webui:virtual-server-detail", pk=virtual_server.pk)
    context = {"form": form, "virtual_server": virtual_server}
    return render(request, "webui/virtual_servers/form.html", context)


@operator_required
def virtual_server_delete(request: HttpRequest, pk: int) -> HttpResponse:
    virtual_server = get_object_or_404(VirtualServer, pk=pk)
    cancel = reverse("webui:virtual-server-detail", args=[virtual_server.pk])
    done = reverse("webui:virtual-server-list")
    remove = partial(delete_change, request, virtual_server)
    message = f"Virtual server {virtual_server} and its routes deleted."
    kind = "virtual server (with its routes)"
    return confirm_delete(request, virtual_server, kind, cancel, done, remove, message)
