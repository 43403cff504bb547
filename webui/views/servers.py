"""Server pages: add/edit/delete a member of an upstream, and drain/disable/enable it in one click."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from appliance.audit import services as audit
from appliance.lb import services
from appliance.lb.choices import ServerState
from appliance.lb.models import Server, Upstream
from webui.access import operator_required
from webui.forms.upstreams import ServerForm
from webui.queries import with_health_counts
from webui.views.common import confirm_delete, delete_change, save_change, snapshot

STATE_VERBS = {ServerState.ENABLED: "enable", ServerState.DRAIN: "drain", ServerState.DISABLED: "disable"}


@operator_required
def server_add(request: HttpRequest, upstream_pk: int) -> HttpResponse:
    upstream = get_object_or_404(Upstream, pk=upstream_pk)
    form = ServerForm(request.POST if request.method == "POST" else None, instance=Server(upstream=upstream))
    if form.is_bound and form.is_valid():
        server = save_change(request, "create", form.save)
        messages.success(request, f"Server {server} added to {upstream}.")
        return redirect("webui:upstream-detail", pk=upstream.pk)
    return render(request, "webui/upstreams/server_form.html", {"form": form, "upstream": upstream})


@operator_required
def server_edit(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(Server.objects.select_related("upstream"), pk=pk)
    before = snapshot(server)
    form = ServerForm(request.POST if request.method == "POST" else None, instance=server)
    if form.is_bound and form.is_valid():
        save_change(request, "update", form.save, before)
        messages.success(request, f"Server {server} saved.")
        return redirect("webui:upstream-detail", pk=server.upstream_id)
    context = {"form": form, "upstream": server.upstream, "server": server}
    return render(request, "webui/upstreams/server_form.html", context)


@operator_required
def server_delete(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(Server.objects.select_related("upstream"), pk=pk)
    parent = reverse("webui:upstream-detail", args=[server.upstream_id])
    remove = partial(delete_change, request, server)
    message = f"Server {server} removed from {server.upstream}."
    return confirm_delete(request, server, f"server of {server.upstream}", parent, parent, remove, message)


def _set_state(request: HttpRequest, pk: int, state: ServerState) -> Server:
    """Set, audit and mark in one transaction, with the row locked against a concurrent click."""
    verb = STATE_VERBS[state]
    with transaction.atomic():
        locked = Server.objects.select_for_update(of=("self",)).select_related("upstream")
        server = get_object_or_404(locked, pk=pk)
        before = snapshot(server)
        server.state = state
        server.save(update_fields=["state", "updated"])
        audit.record(
            "update", request, obj=server, before=before, after=snapshot(server), detail={"action": verb}
        )
        services.mark_changed(f"{verb} server {server.upstream} {server}", request.user.get_username())
    return server


@require_POST
@operator_required
def server_state(request: HttpRequest, pk: int) -> HttpResponse:
    """One click: drain, disable or enable; htmx gets the new table row instead of a redirect."""
    state = request.POST.get("state", "")
    if state not in ServerState.values:
        return HttpResponseBadRequest("unknown server state")
    server = _set_state(request, pk, ServerState(state))
    if request.htmx:
        # The new row, and out of band the upstream's "in rotation" figure, which the change also moved.
        upstream = with_health_counts(Upstream.objects.filter(pk=server.upstream_id)).get()
        context = {"server": server, "states": ServerState, "upstream": upstream, "with_summary": True}
        return render(request, "webui/upstreams/_server_row.html", context)
    messages.success(request, f"Server {server} is now {server.get_state_display().lower()}.")
    return redirect("webui:upstream-detail", pk=server.upstream_id)
