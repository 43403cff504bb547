"""Per-minute rollups of data-plane traffic, kept for `RETENTION` (the fine-grained ticks live in Redis).

One row per minute and scope: an upstream (`server` empty), one server of an upstream, or everything the
nodes served (`upstream` = `scraper.ALL`). Rows hold sums over the minute, so any window of whole minutes
is a sum of rows; `covered_s` is how many seconds of that minute the scraper saw (the denominator of its
rates) and `samples` how many scrapes it made (for the mean of the in-flight gauge).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.postgres.fields import ArrayField
from django.db import models

from appliance.observability.stats import NB, Traffic

RETENTION = timedelta(hours=24)


class MetricMinute(models.Model):
    """Traffic of one scope during one minute (sums; histogram buckets cumulative)."""

    upstream = models.CharField(max_length=63)
    server = models.CharField(max_length=300, blank=True, default="")
    minute = models.DateTimeField()
    covered_s = models.FloatField(default=0)
    samples = models.PositiveIntegerField(default=0)
    requests = models.FloatField(default=0)
    errors = models.FloatField(default=0)
    buckets = ArrayField(models.FloatField(), size=NB)
    duration_sum = models.FloatField(default=0)
    inflight_sum = models.FloatField(default=0)
    retries = models.FloatField(default=0)
    unavailable = models.FloatField(default=0)
    connect_failures = models.FloatField(default=0)
    bytes_in = models.FloatField(default=0)
    bytes_out = models.FloatField(default=0)

    class Meta:
        ordering = ["upstream", "server", "minute"]
        constraints = [
            models.UniqueConstraint(fields=["upstream", "server", "minute"], name="one_rollup_per_minute")
        ]
        indexes = [models.Index(fields=["minute"], name="rollup_minute_idx")]

    def __str__(self) -> str:
        return f"{self.upstream} {self.server} {self.minute:%Y-%m-%d %H:%M}".replace("  ", " ")

    def traffic(self) -> Traffic:
        return Traffic(**{name: getattr(self, name) for name in vars(Traffic())})
