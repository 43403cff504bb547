"""Browser UI views: thin, login required, reading through the domain services."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from appliance.lb import services
from appliance.lb.models import ConfigRevision, DataPlaneNode, Upstream


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    context = {
        "live": services.live_revision(),
        "latest": ConfigRevision.objects.first(),
        "nodes": DataPlaneNode.objects.order_by("name"),
        "upstreams": Upstream.objects.prefetch_related("servers"),
    }
    return render(request, "webui/dashboard.html", context)
