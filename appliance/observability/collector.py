"""The control plane's Prometheus metrics, computed at scrape time from PostgreSQL and Redis.

gunicorn runs several worker processes and Celery others: counters kept in one process's memory would
each tell a part of the story. Every figure here is read when /metrics is scraped, from the rows and
Redis keys the whole appliance shares, so any web worker answers the same. Counters derived from rows
(applies, scaling decisions) only grow while history is kept; pruning history resets them, which
Prometheus treats like a process restart.

Each section is read on its own: a failing one (a table missing during a migration, Redis away) is
left out and reported by `lb_metrics_section_up{section}` = 0, the others still answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

import redis
from django.db import DatabaseError
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from appliance.lb.models import ConfigRevision, DataPlaneNode, DesiredState, NodeRevisionStatus
from appliance.observability import store

log = logging.getLogger(__name__)

APPLY_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# kombu's Redis transport keeps each priority level of a queue in its own list: name, name\x06\x163, ...
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")

Section = Callable[[], Iterator[Metric]]


class ControlPlaneCollector:
    """prometheus_client collector: register it on a fresh `CollectorRegistry` per scrape."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "lb_metrics_section_up", "Whether a section of these metrics could be read.", labels=["section"]
        )
        for name, section in SECTIONS.items():
            try:
                yield from list(section())
                up.add_metric([name], 1)
            except (DatabaseError, redis.RedisError) as exc:
                log.warning("metrics section %s left out: %s", name, exc)
                up.add_metric([name], 0)
        yield up


def _config() -> Iterator[Metric]:
    state = DesiredState.objects.filter(pk=1).first()
    generation = GaugeMetricFamily(
        "lb_config_generation", "Desired-state generation (bumped by every change)."
    )
    compiled = GaugeMetricFamily("lb_config_compiled_generation", "Newest desired-state generation compiled.")
    generation.add_metric([], state.generation if state else 0)
    compiled.add_metric([], state.compiled_generation if state else 0)
    latest = GaugeMetricFamily("lb_config_latest_revision", "Number of the newest config revision.")
    latest.add_metric([], ConfigRevision.objects.aggregate(n=Max("number"))["n"] or 0)
    revisions = GaugeMetricFamily(
        "lb_config_revisions", "Config revisions kept, by status.", labels=["status"]
    )
    for status, count in ConfigRevision.objects.values_list("status").annotate(n=Count("id")).order_by():
        revisions.add_metric([status], count)
    yield from (generation, compiled, latest, revisions)


def _applies() -> Iterator[Metric]:
    applies = CounterMetricFamily(
        "lb_config_applies",
        "Revisions applied by each node, by outcome (applied or failed).",
        labels=["node", "status"],
    )
    rows = NodeRevisionStatus.objects.values_list("node__name", "status").annotate(n=Count("id")).order_by()
    for node, status, count in rows:
        applies.add_metric([node, status], count)
    duration = HistogramMetricFamily(
        "lb_config_apply_duration_seconds",
        "Time a node took to apply a revision (stage, nginx -t, swap, reload, verify).",
        labels=["node"],
    )
    buckets = {
        f"le{i}": Count("id", filter=Q(duration_ms__lte=b * 1000)) for i, b in enumerate(APPLY_BUCKETS_S)
    }
    per_node = NodeRevisionStatus.objects.values("node__name").annotate(
        n=Count("id"), ms=Sum("duration_ms"), **buckets
    )
    for row in per_node.order_by("node__name"):
        points = [(str(b), row[f"le{i}"]) for i, b in enumerate(APPLY_BUCKETS_S)] + [("+Inf", row["n"])]
        duration.add_metric([row["node__name"]], buckets=points, sum_value=(row["ms"] or 0) / 1000)
    yield from (applies, duration)


def _nodes() -> Iterator[Metric]:
    live = GaugeMetricFamily(
        "lb_node_live_revision", "Revision each data-plane node serves.", labels=["node"]
    )
    seen = GaugeMetricFamily(
        "lb_node_last_seen_timestamp_seconds", "When the node's agent last reported.", labels=["node"]
    )
    active = GaugeMetricFamily(
        "lb_node_active", "1 if the node reported recently enough to count.", labels=["node"]
    )
    active_ids = set(DataPlaneNode.objects.active().values_list("pk", flat=True))
    for node in DataPlaneNode.objects.order_by("name"):
        if node.live_revision is not None:
            live.add_metric([node.name], node.live_revision)
        seen.add_metric([node.name], node.last_seen.timestamp())
        active.add_metric([node.name], 1 if node.pk in active_ids else 0)
    yield from (live, seen, active)


def _celery() -> Iterator[Metric]:
    conn = store.client()
    queues = [
        "control",
        *(f"node.{n}" for n in DataPlaneNode.objects.order_by("name").values_list("name", flat=True)),
    ]
    length = GaugeMetricFamily(
        "lb_celery_queue_length", "Tasks waiting in each Celery queue.", labels=["queue"]
    )
    for queue in queues:
        length.add_metric([queue], sum(int(conn.llen(queue + suffix)) for suffix in _PRIORITY_SUFFIXES))
    tasks = CounterMetricFamily(
        "lb_celery_tasks",
        "Celery task runs by task and outcome (succeeded, failed, retried).",
        labels=["task", "outcome"],
    )
    for (task, outcome), count in sorted(store.counts(conn, store.CELERY_TASKS).items()):
        tasks.add_metric([task, outcome], count)
    scrapes = CounterMetricFamily(
        "lb_dataplane_scrapes",
        "Scrapes of the nodes' /metrics by the rollup worker.",
        labels=["node", "outcome"],
    )
    for (node, outcome), count in sorted(store.counts(conn, store.SCRAPES).items()):
        scrapes.add_metric([node, outcome], count)
    yield from (length, tasks, scrapes)


def _health() -> Iterator[Metric]:
    from appliance.observability.health_metrics import health_families

    yield from health_families()


def _scaling() -> Iterator[Metric]:
    from appliance.k8s.models import ScalingDecision

    decisions = CounterMetricFamily(
        "lb_scaling_decisions",
        "Autoscaling decisions by upstream, deployment and outcome.",
        labels=["upstream", "deployment", "outcome"],
    )
    rows = ScalingDecision.objects.values_list(
        "policy__binding__upstream__name", "policy__deployment", "outcome"
    ).annotate(n=Count("id"))
    for upstream, deployment, outcome, count in rows.order_by():
        decisions.add_metric([upstream, deployment, outcome], count)
    replicas = GaugeMetricFamily(
        "lb_scaling_replicas",
        "Replicas of each scaled deployment at its latest decision: current and desired.",
        labels=["upstream", "deployment", "kind"],
    )
    latest = ScalingDecision.objects.order_by("policy_id", "-at", "-id").distinct("policy_id")
    for d in latest.select_related("policy__binding__upstream"):
        labels = [d.policy.binding.upstream.name, d.policy.deployment]
        for kind, value in (("current", d.current_replicas), ("desired", d.desired)):
            if value is not None:
                replicas.add_metric([*labels, kind], value)
    yield from (decisions, replicas)


def _certificates() -> Iterator[Metric]:
    from appliance.tls.models import Certificate

    expiry = GaugeMetricFamily(
        "lb_certificate_expiry_days",
        "Days until each certificate expires (negative: expired).",
        labels=["certificate"],
    )
    now = timezone.now()
    for name, not_after in (
        Certificate.objects.exclude(not_after=None).order_by("name").values_list("name", "not_after")
    ):
        expiry.add_metric([name], round((not_after - now) / timedelta(days=1), 3))
    yield expiry


SECTIONS: dict[str, Section] = {
    "config": _config,
    "applies": _applies,
    "nodes": _nodes,
    "celery": _celery,
    "health": _health,
    "scaling": _scaling,
    "certificates": _certificates,
}
