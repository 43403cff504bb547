"""Enumerations of benchmark runs and the bounds of their parameters."""

from django.db import models


class Scenario(models.TextChoices):
    THROUGHPUT = "throughput", "Throughput: direct vs LB vs HAProxy"
    LATENCY = "latency", "Steady load through the LB"
    FAILOVER = "failover", "Failover: one server stops answering, then comes back"
    RELOAD = "reload", "Reload under load: the current configuration re-applied N times"
    TLS = "tls", "TLS: HTTPS keep-alive throughput and new-handshake rate"
    AUTOSCALE = "autoscale", "Autoscale: a load ramp against a Kubernetes-bound upstream"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
DURATION_S = (3, 120)
CONCURRENCY = (1, 256)
APPLIES = (1, 50)  # config applies (so nginx reloads) during a `reload` run
TLS_DURATION_S = 30  # a `tls` run's handshake phases each last the duration: bounded tighter
# A run is its duration plus start-up, the applies a reload run waits for or the scale-down an autoscale
# run waits for, and storing the report. The task's soft limit; the hard one is 30 s later.
RUN_LIMIT_S = DURATION_S[1] + 180
# The sweeper fails a run still `running` this long after it started (its worker is gone: the task's
# own limits would have ended it), and a run still `queued` this long after it was created.
LOST_AFTER_S = RUN_LIMIT_S + 30 + 60
NEVER_STARTED_AFTER_S = 15 * 60
