"""Data-plane traffic figures for the UI dashboard and the autoscaler, and the jobs that collect them.

Reading (what other apps call):

    upstream_stats(upstream, window_s=60) -> UpstreamStats | None
        The upstream's traffic over the last `window_s` seconds, summed over every data-plane node:
        `rps`, `error_rate` (share of answers that were 5xx, None without requests), `p50_ms`/`p95_ms`/
        `p99_ms` (client-side latency through the load balancer, interpolated inside histogram buckets
        like PromQL's histogram_quantile; None without requests), `inflight` (mean of the in-flight gauge
        sampled at each scrape), `retries_per_s`, `connect_failures_per_s`, and `servers`: address:port
        (IPv6 in brackets, as nginx writes it) → `ServerStats` with the same rates measured per try at
        that server (latency = the server's own response time; `inflight` = Little's law: seconds spent
        in its requests per second). None when the scraper covered none of the window (not running, or
        no node). `upstream_stats(ALL, ...)` gives everything the nodes served, every virtual server.

    series(upstream, window_s=900, step_s=None) -> list[Point]
        The same figures per step for charts, oldest first: one point per `step_s` seconds (default:
        about 60 points), each with `t` (step start, epoch seconds), rps, error_rate, p50/p95/p99_ms
        and inflight. Steps the scraper did not cover are left out.

    Windows up to `FINE_RETENTION_S` (15 min) come from the per-scrape ticks in Redis (2 s resolution);
    longer ones, up to 24 h, from the per-minute rows in PostgreSQL (whole minutes only).

Collecting (Celery beat, `workers.metrics`):

    scrape_nodes()   every ~2 s: GET <node status_url>/metrics of every active node, turn counters
                     into increases per series (a drop is a reset, a node restart resets every series),
                     sum them per upstream and server, and store one tick (appliance.observability.store)
    roll_up_minutes() every minute: complete minutes into PostgreSQL, rows older than 24 h deleted

Rates are over the time the scraper actually covered (its ticks' intervals), so a stopped scraper or a
node that could not be scraped for a while does not dilute or inflate them: the increase is counted
when the node answers again.
"""

from __future__ import annotations

import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import redis

from appliance.lb.models import DataPlaneNode
from appliance.observability import rollups, scraper, store
from appliance.observability.scraper import ALL
from appliance.observability.stats import Figures, Traffic, figures
from appliance.observability.store import FINE_RETENTION_S

__all__ = [
    "ALL",
    "FINE_RETENTION_S",
    "Point",
    "ServerStats",
    "UpstreamStats",
    "roll_up_minutes",
    "scrape_nodes",
    "series",
    "upstream_stats",
]

log = logging.getLogger(__name__)

SCRAPE_TIMEOUT_S = 1.5
SCRAPE_LOCK_S = 10
SERIES_POINTS = 60

# A server's figures: the same fields, measured per try at that server (`inflight` by Little's law).
ServerStats = Figures


@dataclass(frozen=True)
class UpstreamStats:
    """An upstream's traffic over a window (see the module docstring for every field)."""

    upstream: str
    window_s: int
    covered_s: float
    requests: float
    rps: float
    error_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    inflight: float
    retries_per_s: float
    connect_failures_per_s: float
    servers: dict[str, ServerStats] = field(default_factory=dict)


@dataclass(frozen=True)
class Point:
    """One step of a chart series."""

    t: int
    rps: float
    error_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    inflight: float


def upstream_stats(upstream: str, window_s: int = 60) -> UpstreamStats | None:
    now = time.time()
    if window_s <= FINE_RETENTION_S:
        window = rollups.tick_windows(upstream, now - window_s, now + 1, step_s=None).get(0)
    else:
        window = rollups.minute_windows(upstream, now - window_s, step_s=None).get(0)
    if window is None or window.covered_s <= 0:
        return None
    total = figures(window.traffic, window.covered_s, window.samples)
    servers = {
        address: figures(traffic, window.covered_s, window.samples, littles_law=True)
        for address, traffic in sorted(window.servers.items())
    }
    return UpstreamStats(
        upstream=upstream,
        window_s=window_s,
        covered_s=round(window.covered_s, 3),
        requests=total.requests,
        rps=total.rps,
        error_rate=total.error_rate,
        p50_ms=total.p50_ms,
        p95_ms=total.p95_ms,
        p99_ms=total.p99_ms,
        inflight=total.inflight,
        retries_per_s=total.retries_per_s,
        connect_failures_per_s=total.connect_failures_per_s,
        servers=servers,
    )


def series(upstream: str, window_s: int = 900, step_s: int | None = None) -> list[Point]:
    now = time.time()
    if window_s <= FINE_RETENTION_S:
        step = step_s or max(2, window_s // SERIES_POINTS)
        steps = rollups.tick_windows(upstream, now - window_s, now + 1, step_s=step)
    else:
        step = step_s or max(60, window_s // SERIES_POINTS // 60 * 60)
        steps = rollups.minute_windows(upstream, now - window_s, step_s=step)
    points = []
    for start, window in sorted(steps.items()):
        if window.covered_s <= 0:
            continue
        f = figures(window.traffic, window.covered_s, window.samples)
        points.append(Point(start, f.rps, f.error_rate, f.p50_ms, f.p95_ms, f.p99_ms, f.inflight))
    return points


def scrape_nodes() -> int:
    """One scrape round; returns how many nodes answered (0 if another round still runs)."""
    conn = store.client()
    lock = conn.lock(store.SCRAPE_LOCK, timeout=SCRAPE_LOCK_S)
    # Two rounds at once would both compute increases from the same previous samples: count twice.
    if not lock.acquire(blocking=False):
        return 0
    try:
        return _scrape_round(conn)
    finally:
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()


def roll_up_minutes() -> int:
    return rollups.roll_up(time.time())


def _scrape_round(conn: redis.Redis) -> int:
    nodes = list(DataPlaneNode.objects.active().order_by("name").values_list("name", "status_url"))
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(nodes)))) as pool:
        texts = list(pool.map(_fetch, [url for _, url in nodes]))
    samples = [(name, _parse(name, text)) for (name, _), text in zip(nodes, texts, strict=True)]
    for name, sample in samples:
        store.count_scrape(conn, name, sample is not None)
    answered = [(name, sample) for name, sample in samples if sample is not None]
    if not answered:
        return 0  # no coverage without data: the next round's interval (and increases) span this one
    now = time.time()
    previous_tick = store.swap_last_tick(conn, now)
    tick = scraper.Tick()
    for name, sample in answered:
        tick.add_increases(scraper.increases(store.previous_sample(conn, name), sample))
        tick.add_inflight(sample.inflight)
        store.save_sample(conn, name, sample)
    if previous_tick is not None:
        store.write_ticks(conn, _stored_ticks(tick, now, now - previous_tick))
    return len(answered)


def _fetch(url: str) -> str | None:
    try:
        return scraper.fetch(url, SCRAPE_TIMEOUT_S)
    except OSError as exc:
        log.warning("metrics scrape of %s failed: %s", url, exc)
        return None


def _parse(node: str, text: str | None) -> scraper.Sample | None:
    if text is None:
        return None
    try:
        return scraper.parse(text)
    except (ValueError, KeyError) as exc:
        log.warning("metrics of node %s could not be parsed: %s", node, exc)
        return None


def _stored_ticks(tick: scraper.Tick, now: float, dt: float) -> dict[str, store.StoredTick]:
    """ALL always (its intervals are the coverage), other scopes when they had traffic."""
    scopes = {ALL, *tick.scopes, *tick.servers}
    return {
        scope: store.StoredTick(now, dt, tick.scopes.get(scope, Traffic()), tick.servers.get(scope, {}))
        for scope in sorted(scopes)
    }
