"""Route pages: every route with search, and add/edit/delete a route of a virtual server."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from appliance.lb.models import Route, VirtualServer
from webui.access import operator_required, viewer_required
from webui.filtersets import RouteSearchFilterSet
from webui.forms.virtual_servers import RouteForm
from webui.views.common import confirm_delete, delete_change, filtered_page, save_change, snapshot


@require_safe
@viewer_required
def route_list(request: HttpRequest) -> HttpResponse:
    queryset = Route.objects.select_related("virtual_server", "upstream", "canary_upstream").order_by(
        "virtual_server__name", "priority", "path_prefix"
    )
    filterset, page = filtered_page(request, RouteSearchFilterSet, queryset, per_page=50)
    return render(request, "webui/routes/list.html", {"filter": filterset, "page": page})


@operator_required
def route_add(request: HttpRequest, virtual_server_pk: int) -> HttpResponse:
    virtual_server = get_object_or_404(VirtualServer, pk=virtual_server_pk)
    data = request.POST if request.method == "POST" else None
    form = RouteForm(data, instance=Route(virtual_server=virtual_server))
    if form.is_bound and form.is_valid():
        route = save_change(request, "create", form.save)
        messages.success(request, f"Route {route.path_prefix} added.")
        return redirect("webui:virtual-server-detail", pk=virtual_server.pk)
    return render(request, "webui/routes/form.html", {"form": form, "virtual_server": virtual_server})


@operator_required
def route_edit(request: HttpRequest, pk: int) -> HttpResponse:
    route = get_object_or_404(Route.objects.select_related("virtual_server"), pk=pk)
    before = snapshot(route)
    form = RouteForm(request.POST if request.method == "POST" else None, instance=route)
    if form.is_bound and form.is_valid():
        save_change(request, "update", form.save, before)
        messages.success(request, f"Route {route.path_prefix} saved.")
        return redirect("webui:virtual-server-detail", pk=route.virtual_server_id)
    context = {"form": form, "virtual_server": route.virtual_server, "route": route}
    return render(request, "webui/routes/form.html", context)


@operator_required
def route_delete(request: HttpRequest, pk: int) -> HttpResponse:
    route = get_object_or_404(Route.objects.select_related("virtual_server"), pk=pk)
    parent = reverse("webui:virtual-server-detail", args=[route.virtual_server_id])
    remove = partial(delete_change, request, route)
    return confirm_delete(
        request, route, "route", parent, parent, remove, f"Route {route.path_prefix} deleted."
    )
