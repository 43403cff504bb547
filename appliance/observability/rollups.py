"""Minute rollups (Redis ticks summed into PostgreSQL rows per minute) and windows read back from both.

A tick belongs to the minute its time falls in. A minute is rolled up once it is complete (`GRACE_S`
after its end, so the tick that closes it has been written) and while Redis still holds all of it. The
row of `scraper.ALL` is written with the others in one transaction and marks the minute as done; rows
are unique per scope and minute, so a repeated or concurrent roll-up inserts nothing twice.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Max

from appliance.observability import store
from appliance.observability.models import RETENTION, MetricMinute
from appliance.observability.scraper import ALL
from appliance.observability.stats import Traffic

GRACE_S = 5


@dataclass
class Window:
    """Sums over a window: the scope's traffic, its servers', and how much of the window was covered."""

    traffic: Traffic = field(default_factory=Traffic)
    servers: dict[str, Traffic] = field(default_factory=dict)
    covered_s: float = 0.0
    samples: int = 0

    def add_server(self, address: str, traffic: Traffic) -> None:
        self.servers.setdefault(address, Traffic()).add(traffic)


def minute_of(t: float) -> datetime:
    return datetime.fromtimestamp(math.floor(t / 60) * 60, tz=UTC)


def roll_up(now: float) -> int:
    """Roll up complete minutes not in PostgreSQL yet, prune rows past `RETENTION`; returns rows offered."""
    end = minute_of(now - GRACE_S)  # minutes before this one are complete
    first_whole = minute_of(now - store.FINE_RETENTION_S) + timedelta(minutes=1)
    done = MetricMinute.objects.filter(upstream=ALL, server="").aggregate(last=Max("minute"))["last"]
    start = max(first_whole, done + timedelta(minutes=1)) if done else first_whole
    written = 0
    if start < end:
        rows = _rows(start.timestamp(), end.timestamp())
        with transaction.atomic():
            written = len(MetricMinute.objects.bulk_create(rows, ignore_conflicts=True))
    MetricMinute.objects.filter(minute__lt=datetime.fromtimestamp(now, tz=UTC) - RETENTION).delete()
    return written


def _rows(since: float, until: float) -> list[MetricMinute]:
    rows = []
    for scope in store.scopes(store.client()):
        for start, window in tick_windows(scope, since, until, step_s=60).items():
            if scope != ALL and window.traffic == Traffic() and not window.servers:
                continue  # covered by the scraper, but no traffic of this scope
            minute = datetime.fromtimestamp(start, tz=UTC)
            parts = {"": window.traffic, **window.servers}
            rows += [_row(scope, server, minute, window, traffic) for server, traffic in parts.items()]
    return rows


def _row(scope: str, server: str, minute: datetime, window: Window, traffic: Traffic) -> MetricMinute:
    return MetricMinute(
        upstream=scope,
        server=server,
        minute=minute,
        covered_s=window.covered_s,
        samples=window.samples,
        **vars(traffic),
    )


def tick_windows(scope: str, since: float, until: float, step_s: int | None) -> dict[int, Window]:
    """Redis ticks of `scope` summed per step of `step_s` seconds (key: step start), or into key 0.

    Coverage comes from the ALL ticks: one per scrape round, traffic or not."""

    def key(t: float) -> int:
        return int(t - t % step_s) if step_s else 0

    conn = store.client()
    out: dict[int, Window] = defaultdict(Window)
    for tick in store.read_ticks(conn, ALL, since, until):
        out[key(tick.t)].covered_s += tick.dt
        out[key(tick.t)].samples += 1
    for tick in store.read_ticks(conn, scope, since, until):
        window = out[key(tick.t)]
        window.traffic.add(tick.traffic)
        for address, traffic in tick.servers.items():
            window.add_server(address, traffic)
    return out


def minute_windows(scope: str, since: float, step_s: int | None) -> dict[int, Window]:
    """Minute rows of `scope` from the minute of `since` on, summed per step (or into key 0).

    Coverage comes from the ALL rows: every scraped minute has one, a scope only those with traffic."""
    minute = minute_of(since)

    def key(at: datetime) -> int:
        start = int(at.timestamp())
        return start - start % step_s if step_s else 0

    out: dict[int, Window] = defaultdict(Window)
    coverage = MetricMinute.objects.filter(upstream=ALL, server="", minute__gte=minute)
    for at, covered, samples in coverage.values_list("minute", "covered_s", "samples"):
        out[key(at)].covered_s += covered
        out[key(at)].samples += samples
    for row in MetricMinute.objects.filter(upstream=scope, minute__gte=minute):
        if row.server:
            out[key(row.minute)].add_server(row.server, row.traffic())
        else:
            out[key(row.minute)].traffic.add(row.traffic())
    return out
