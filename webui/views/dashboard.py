"""The dashboard page and the partial that htmx polls every few seconds to keep it live."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from webui.access import viewer_required
from webui.dashboard import live_context


@require_safe
@viewer_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "webui/dashboard.html", live_context())


@require_safe
@viewer_required
def dashboard_live(request: HttpRequest) -> HttpResponse:
    return render(request, "webui/dashboard/_live.html", live_context())
