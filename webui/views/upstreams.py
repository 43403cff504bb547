"""Upstream pages: list with health summary, detail with its servers, create, edit, delete."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from appliance.health.models import HealthCheck, HealthTransition
from appliance.lb.choices import ServerState
from appliance.lb.filtersets import UpstreamFilterSet
from appliance.lb.gateway_models import StickyPolicy
from appliance.lb.models import Upstream
from webui.access import operator_required, viewer_required
from webui.filtersets import ServerSearchFilterSet
from webui.forms.upstreams import UpstreamForm
from webui.queries import with_health_counts
from webui.views.common import confirm_delete, delete_change, filtered_page, save_change, snapshot

HISTORY_ROWS = 20


@require_safe
@viewer_required
def upstream_list(request: HttpRequest) -> HttpResponse:
    filterset, page = filtered_page(
        request, UpstreamFilterSet, with_health_counts(Upstream.objects.order_by("name"))
    )
    return render(request, "webui/upstreams/list.html", {"filter": filterset, "page": page})


@require_safe
@viewer_required
def upstream_detail(request: HttpRequest, pk: int) -> HttpResponse:
    upstream = get_object_or_404(with_health_counts(Upstream.objects.all()), pk=pk)
    servers = upstream.servers.select_related("health").order_by("address", "port")
    filterset, page = filtered_page(request, ServerSearchFilterSet, servers, per_page=50)
    context = {
        "upstream": upstream,
        "filter": filterset,
        "page": page,
        "states": ServerState,
        "health_check": HealthCheck.objects.filter(upstream=upstream).first(),
        "sticky": StickyPolicy.objects.filter(upstream=upstream).first(),
        "alerts": upstream.health_alerts.filter(cleared_at__isnull=True),
        "transitions": HealthTransition.objects.filter(server__upstream=upstream).select_related("server")[
            :HISTORY_ROWS
        ],
        "virtual_servers": upstream.virtual_servers.only("id", "name"),
        "routes": upstream.routes.select_related("virtual_server").only(
            "id", "path_prefix", "priority", "virtual_server__id", "virtual_server__name"
        ),
    }
    return render(request, "webui/upstreams/detail.html", context)


@operator_required
def upstream_add(request: HttpRequest) -> HttpResponse:
    form = UpstreamForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        upstream = save_change(request, "create", form.save)
        messages.success(request, f"Upstream {upstream} created; add its servers next.")
        return redirect("webui:upstream-detail", pk=upstream.pk)
    return render(request, "webui/upstreams/form.html", {"form": form})


@operator_required
def upstream_edit(request: HttpRequest, pk: int) -> HttpResponse:
    upstream = get_object_or_404(Upstream, pk=pk)
    before = snapshot(upstream)
    form = UpstreamForm(request.POST if request.method == "POST" else None, instance=upstream)
    if form.is_bound and form.is_valid():
        save_change(request, "update", form.save, before)
        messages.success(request, f"Upstream {upstream} saved.")
        return redirect("webui:upstream-detail", pk=upstream.pk)
    return render(request, "webui/upstreams/form.html", {"form": form, "upstream": upstream})


@operator_required
def upstream_delete(request: HttpRequest, pk: int) -> HttpResponse:
    upstream = get_object_or_404(Upstream, pk=pk)
    cancel, done = reverse("webui:upstream-detail", args=[upstream.pk]), reverse("webui:upstream-list")
    remove = partial(delete_change, request, upstream)
    return confirm_delete(
        request, upstream, "upstream", cancel, done, remove, then="point those elsewhere first"
    )
