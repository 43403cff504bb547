"""The audit log: every change and every refusal, newest first, filtered with the API's own filterset."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from appliance.audit.filtersets import AuditEventFilterSet
from appliance.audit.models import AuditEvent
from webui.access import admin_required
from webui.views.common import filtered_page


@require_safe
@admin_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """Admins only, as in the API: the log names every account that tried to sign in."""
    filterset, page = filtered_page(request, AuditEventFilterSet, AuditEvent.objects.all(), per_page=50)
    return render(request, "webui/audit/list.html", {"filter": filterset, "page": page})
