"""Revision pages: timeline with per-node state, detail with nginx's output, diff of any two, rollback."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import F, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_safe

from appliance.audit import services as audit
from appliance.lb import services
from appliance.lb.api.serializers import ConfigRevisionSerializer, unified_diff
from appliance.lb.models import ConfigRevision, NodeRevisionStatus
from webui.access import operator_required, viewer_required
from webui.filtersets import ConfigRevisionSearchFilterSet
from webui.forms.revisions import RevisionDiffForm
from webui.views.common import filtered_page

_NODE_STATUSES = Prefetch(
    "node_statuses", queryset=NodeRevisionStatus.objects.select_related("node").order_by("node__name")
)


def diff_lines(old: dict[str, str], new: dict[str, str]) -> list[tuple[str, str]]:
    """The unified diff as (css class, line) pairs, so the template can colour it without logic."""
    kinds = {"+": "added", "-": "removed", "@": "hunk"}
    lines = unified_diff(old, new).splitlines()
    return [("file" if line.startswith(("+++", "---")) else kinds.get(line[:1], ""), line) for line in lines]


def _live_number() -> int | None:
    live = services.live_revision()
    return live.number if live else None


@require_safe
@viewer_required
def revision_list(request: HttpRequest) -> HttpResponse:
    queryset = (
        ConfigRevision.objects.defer("files", "quarantined")
        .annotate(rollback_of_number=F("rollback_of__number"))
        .prefetch_related(_NODE_STATUSES)
    )
    filterset, page = filtered_page(request, ConfigRevisionSearchFilterSet, queryset)
    context = {"filter": filterset, "page": page, "live_number": _live_number()}
    return render(request, "webui/revisions/list.html", context)


@require_safe
@viewer_required
def revision_detail(request: HttpRequest, number: int) -> HttpResponse:
    revision = get_object_or_404(
        ConfigRevision.objects.annotate(rollback_of_number=F("rollback_of__number")).prefetch_related(
            _NODE_STATUSES
        ),
        number=number,
    )
    before = ConfigRevision.objects.filter(number__lt=number).only("number", "files").first()
    context = {
        "revision": revision,
        "before": before,
        "diff": diff_lines(before.files if before else {}, revision.files),
        "live_number": _live_number(),
    }
    return render(request, "webui/revisions/detail.html", context)


@require_safe
@viewer_required
def revision_diff(request: HttpRequest) -> HttpResponse:
    """Any two revisions; without a choice, the newest against the one before it."""
    newest = list(ConfigRevision.objects.values_list("number", flat=True)[:2])
    default = {"new": newest[0], "old": newest[-1]} if newest else {}
    form = RevisionDiffForm(request.GET if "new" in request.GET else default or None)
    diff = None
    if form.is_bound and form.is_valid():
        old, new = form.cleaned_data["old_revision"], form.cleaned_data["new_revision"]
        diff = diff_lines(old.files, new.files)
    return render(request, "webui/revisions/diff.html", {"form": form, "diff": diff})


@operator_required
def revision_rollback(request: HttpRequest, number: int) -> HttpResponse:
    """GET asks for confirmation and shows what would change; POST rolls back (a new revision)."""
    target = get_object_or_404(ConfigRevision, number=number)
    if request.method == "POST":
        with transaction.atomic():
            revision = services.rollback(target, request.user.get_username())
            audit.record("rollback", request, obj=target, after=ConfigRevisionSerializer(revision).data)
        messages.success(request, f"Rolling back to revision {target.number} as revision {revision.number}.")
        return redirect("webui:revision-detail", number=revision.number)
    live = services.live_revision()
    context = {"target": target, "live": live, "diff": diff_lines(live.files if live else {}, target.files)}
    return render(request, "webui/revisions/confirm_rollback.html", context)
