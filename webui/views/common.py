"""What every list and every change view does the same way: filter + paginate, save + audit + mark, and
the confirm-then-delete page.

A change made in the browser is recorded exactly as the API records it: the same serializer snapshots in
the audit log, and the desired-state generation bumped in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import django_filters
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Model, ProtectedError, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from appliance.audit import services as audit
from appliance.lb import services
from appliance.lb.api import serializers as s
from appliance.lb.models import Route, Server, Upstream, VirtualServer

T = TypeVar("T", bound=Model)
SERIALIZERS = {
    Upstream: s.UpstreamSerializer,
    Server: s.ServerSerializer,
    VirtualServer: s.VirtualServerSerializer,
    Route: s.RouteSerializer,
}


def filtered_page(
    request: HttpRequest,
    filterset_class: type[django_filters.FilterSet],
    queryset: QuerySet,
    per_page: int = 25,
) -> tuple[django_filters.FilterSet, Page]:
    """The shared FilterSet applied to the query string, then one page of the result."""
    filterset = filterset_class(request.GET, queryset=queryset)
    rows = filterset.qs if filterset.is_valid() else queryset.none()
    return filterset, Paginator(rows, per_page).get_page(request.GET.get("page"))


def snapshot(obj: Model) -> dict[str, Any]:
    """What the API would answer for `obj`: the audit log's before/after."""
    return dict(SERIALIZERS[type(obj)](obj).data)


def _mark(request: HttpRequest, verb: str, obj: Model) -> None:
    services.mark_changed(f"{verb} {obj._meta.verbose_name} {obj}", request.user.get_username())


def save_change(
    request: HttpRequest, verb: str, save: Callable[[], T], before: dict[str, Any] | None = None
) -> T:
    """Save, audit and bump the desired-state generation in one transaction. `before`: taken on load."""
    with transaction.atomic():
        obj = save()
        audit.record(verb, request, obj=obj, before=before, after=snapshot(obj))
        _mark(request, verb, obj)
    return obj


def protecting(exc: ProtectedError) -> list[str]:
    """Up to ten of the objects that keep a deleted one in use, by name."""
    return sorted({str(obj) for obj in exc.protected_objects})[:10]


def confirm_delete(
    request: HttpRequest,
    obj: Model,
    kind: str,
    cancel: str,
    done: str,
    remove: Callable[[], object],
    message: str = "",
    then: str = "delete those first",
    users: Callable[[ProtectedError], list[str]] = protecting,
) -> HttpResponse:
    """The confirmation page of a delete and, on POST, `remove()`: the delete with its audit record (and
    desired-state mark) in one transaction. An object still in use answers 409 on the same page, naming its
    users (`users`) and what to do (`then`); nothing was changed. Afterwards: `message`, then `done`."""
    context = {"object": obj, "kind": kind, "cancel": cancel}
    if request.method == "POST":
        try:
            remove()
        except ProtectedError as exc:
            context["blocked"] = f"still used by {', '.join(users(exc))}; {then}"
            return render(request, "webui/confirm_delete.html", context, status=409)
        messages.success(request, message or f"{kind[0].upper()}{kind[1:]} {obj} deleted.")
        return redirect(done)
    return render(request, "webui/confirm_delete.html", context)


def delete_change(request: HttpRequest, obj: T) -> T:
    """Audit, mark and delete in one transaction; a ProtectedError undoes all three."""
    with transaction.atomic():
        audit.record("delete", request, obj=obj, before=snapshot(obj))
        _mark(request, "delete", obj)
        obj.delete()
    return obj


def save_serialized(
    request: HttpRequest,
    verb: str,
    serializer: Any,
    before: dict[str, Any] | None = None,
    mark: Callable[[Model], object] | None = None,
) -> Model:
    """Save a validated API serializer, audit its output, then `mark` (what the API's viewset marks).

    For the objects whose rules live in an API serializer (TLS, Kubernetes): the audit record is the
    API's, and `mark` is whatever that viewset does to desired state (nothing for clusters and policies).
    """
    with transaction.atomic():
        obj = serializer.save()
        audit.record(verb, request, obj=obj, before=before, after=dict(serializer.data))
        if mark is not None:
            mark(obj)
    return obj


def mark_for(request: HttpRequest, verb: str) -> Callable[[Model], object]:
    """The generation bump of a configuration change, as `ChangeViewSet._mark` makes it."""
    return lambda obj: _mark(request, verb, obj)
