"""Benchmark pages: list of runs, start one, follow its progress (htmx polling), cancel.

The reports themselves are served by the API (`/api/v1/benchmarks/{id}/report/`, which a signed-in browser
may read): they carry their own inline stylesheet and so their own Content-Security-Policy, while every UI
page keeps the strict one.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_safe

from appliance.audit import services as audit
from appliance.benchmarks import services
from appliance.benchmarks.api.serializers import BenchmarkRunSerializer
from appliance.benchmarks.filtersets import BenchmarkRunFilterSet
from appliance.benchmarks.models import BenchmarkRun
from webui.access import operator_required, viewer_required
from webui.forms.benchmarks import BenchmarkRunForm
from webui.views.common import filtered_page


@require_safe
@viewer_required
def benchmark_list(request: HttpRequest) -> HttpResponse:
    queryset = BenchmarkRun.objects.select_related("created_by")
    filterset, page = filtered_page(request, BenchmarkRunFilterSet, queryset)
    return render(request, "webui/benchmarks/list.html", {"filter": filterset, "page": page})


@operator_required
def benchmark_add(request: HttpRequest) -> HttpResponse:
    form = BenchmarkRunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            run = services.start_run(
                request.user,
                data["scenario"],
                data["virtual_server"],
                data["duration_s"],
                data["concurrency"],
                data["applies"],
            )
            audit.record("create", request, obj=run, after=BenchmarkRunSerializer(run).data)
        messages.success(request, f"Benchmark #{run.pk} queued.")
        return redirect("webui:benchmark-detail", pk=run.pk)
    return render(request, "webui/benchmarks/form.html", {"form": form})


@require_safe
@viewer_required
def benchmark_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(BenchmarkRun.objects.select_related("created_by"), pk=pk)
    return render(request, "webui/benchmarks/detail.html", {"run": run})


@require_safe
@viewer_required
def benchmark_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress block alone, polled by htmx every second until the run has finished."""
    run = get_object_or_404(BenchmarkRun, pk=pk)
    return render(request, "webui/benchmarks/_progress.html", {"run": run})


@operator_required
def benchmark_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST cancels (a running run stops within a second, `wrk` killed)."""
    run = get_object_or_404(BenchmarkRun, pk=pk)
    if request.method != "POST":
        return render(request, "webui/benchmarks/confirm_cancel.html", {"run": run})
    before = BenchmarkRunSerializer(run).data
    with transaction.atomic():
        run = services.request_cancel(run)
        audit.record("cancel", request, obj=run, before=before, after=BenchmarkRunSerializer(run).data)
    messages.info(request, f"Cancelling benchmark #{run.pk}.")
    return redirect("webui:benchmark-detail", pk=run.pk)
