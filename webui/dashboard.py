"""What the dashboard shows, gathered in one place: the page and its polled partial render the same context.

Each panel is one entry of the context built from a few bounded queries; a new source of figures (data-plane
metrics, certificates) adds its panel here and its block in `webui/dashboard/_live.html`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from appliance.lb import services
from appliance.lb.choices import RevisionStatus
from appliance.lb.models import ConfigRevision, DataPlaneNode, NodeRevisionStatus, Upstream
from appliance.observability import services as observability
from appliance.observability.services import Point
from appliance.tls.models import Certificate
from webui.charts import BarChart, bar_chart
from webui.queries import health_totals, with_health_counts

UPSTREAM_TILES = 60
CHART_REVISIONS = 30
CERTIFICATE_WARNING_DAYS = 30
TRAFFIC_WINDOW_S = 60
TRAFFIC_CHART_S = 900
CERTIFICATE_ROWS = 10


def configuration() -> dict[str, object]:
    """The live revision, the newest one if it differs, and whether every active node serves the live one."""
    live = services.live_revision()
    stale_before = timezone.now() - timedelta(seconds=settings.LB_NODE_STALE_SECONDS)
    nodes = [
        {
            "node": node,
            "active": node.last_seen >= stale_before,
            "in_sync": live is not None and node.live_revision == live.number,
        }
        for node in DataPlaneNode.objects.order_by("name")
    ]
    active = [n for n in nodes if n["active"]]
    return {
        "live": live,
        "latest": ConfigRevision.objects.defer("files").first(),
        "nodes": nodes,
        "all_in_sync": bool(active) and all(n["in_sync"] for n in active),
    }


def upstream_health() -> dict[str, object]:
    """Totals, and the upstreams with servers out of rotation first (bounded, the list page has the rest)."""
    upstreams = with_health_counts(Upstream.objects.only("id", "name")).order_by("-fail_open", "-out", "name")
    return {"totals": health_totals(), "tiles": list(upstreams[:UPSTREAM_TILES])}


def expiring_certificates() -> list[Certificate]:
    """Certificates whose validity ends within the warning window (or already ended), soonest first."""
    horizon = timezone.now() + timedelta(days=CERTIFICATE_WARNING_DAYS)
    expiring = Certificate.objects.filter(not_after__lte=horizon).order_by("not_after")
    return list(expiring.only("id", "name", "not_after", "status")[:CERTIFICATE_ROWS])


def apply_chart() -> BarChart:
    """Slowest node's apply time per recent revision; a revision any node refused in the failure colour."""
    rows = (
        NodeRevisionStatus.objects.values("revision__number")
        .annotate(ms=Max("duration_ms"), failures=Count("pk", filter=Q(status=RevisionStatus.FAILED)))
        .order_by("-revision__number")[:CHART_REVISIONS]
    )
    points = [
        (f"revision {row['revision__number']}", float(row["ms"]), "bar-bad" if row["failures"] else "bar-ok")
        for row in reversed(rows)
    ]
    return bar_chart("Apply time per revision (slowest node)", "ms", points)


def traffic() -> dict[str, object]:
    """What every node served: the last minute's figures and charts of the last 15 minutes.

    Empty until the metrics scraper has covered the window; an unreachable Redis (where the scraper keeps
    its recent ticks) leaves the panel empty with a note rather than failing the dashboard.
    """
    try:
        stats = observability.upstream_stats(observability.ALL, TRAFFIC_WINDOW_S)
        points = observability.series(observability.ALL, TRAFFIC_CHART_S)
    except redis.RedisError as exc:
        return {"traffic": None, "traffic_charts": [], "traffic_error": str(exc)}

    def chart(title: str, unit: str, value: Callable[[Point], float | None], css: str = "bar-ok") -> BarChart:
        return bar_chart(title, unit, [(_clock(p.t), value(p) or 0.0, css) for p in points])

    charts = [
        chart("Requests per second", "req/s", lambda p: p.rps),
        chart("Share of 5xx answers", "%", lambda p: (p.error_rate or 0) * 100, "bar-bad"),
        chart("p95 latency", "ms", lambda p: p.p95_ms),
    ]
    return {"traffic": stats, "traffic_charts": charts if points else [], "traffic_error": ""}


def _clock(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%H:%M:%S UTC")


def live_context() -> dict[str, object]:
    return {
        **configuration(),
        **upstream_health(),
        "apply_chart": apply_chart(),
        **traffic(),
        "expiring": expiring_certificates(),
        "certificate_warning_days": CERTIFICATE_WARNING_DAYS,
        "refreshed": timezone.now(),
    }
