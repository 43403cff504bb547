"""A benchmark run: what was asked (scenario, target, duration, concurrency, applies), its progress and its
results.

The run itself happens in a Celery task (`workers.benchmarks.run_benchmark`); the report (HTML) and the
results (JSON) go to the `reports` bucket and are served back through the appliance, never by a link to
the object store.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from appliance.benchmarks.choices import APPLIES, CONCURRENCY, DURATION_S, FINISHED, RunStatus, Scenario
from appliance.lb.models import VirtualServer


class BenchmarkRun(models.Model):
    scenario = models.CharField(max_length=16, choices=Scenario.choices)
    virtual_server = models.ForeignKey(
        VirtualServer, null=True, on_delete=models.SET_NULL, related_name="benchmark_runs"
    )
    target_name = models.CharField(max_length=63, blank=True, default="")  # kept if the target is deleted
    duration_s = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(DURATION_S[0]), MaxValueValidator(DURATION_S[1])]
    )
    concurrency = models.PositiveIntegerField(
        default=32, validators=[MinValueValidator(CONCURRENCY[0]), MaxValueValidator(CONCURRENCY[1])]
    )
    # Only the `reload` scenario reads it: how many times the current configuration is applied.
    applies = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(APPLIES[0]), MaxValueValidator(APPLIES[1])]
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    message = models.CharField(max_length=300, blank=True, default="")
    cancel_requested = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="benchmark_runs"
    )
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    report_key = models.CharField(max_length=200, blank=True, default="")
    results_key = models.CharField(max_length=200, blank=True, default="")
    pdf_key = models.CharField(max_length=200, blank=True, default="")  # "" where Chromium is not installed
    figures = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"benchmark #{self.pk} {self.scenario} on {self.target_name or '?'}"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED
