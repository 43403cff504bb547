"""Enumerations of benchmark runs and the bounds of their parameters."""

from django.db import models


class Scenario(models.TextChoices):
    THROUGHPUT = "throughput", "Throughput: direct vs LB vs HAProxy"
    LATENCY = "latency", "Steady load through the LB"
    FAILOVER = "failover", "Failover: one server stops answering, then comes back"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
DURATION_S = (3, 120)
CONCURRENCY = (1, 256)
