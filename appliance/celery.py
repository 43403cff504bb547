"""The Celery application: queues, routes, and the ready-file handshake with the launcher.

Queues: `control` (compile, health checks, discovery, scaling, benchmarks) is served by the control-plane
workers; every data-plane node agent serves `node.<name>` and the `nodes` broadcast queue, so one message
reaches every node and a node can also be addressed alone.
"""

from __future__ import annotations

import os
from pathlib import Path

from celery import Celery, Task, signals
from kombu import Queue
from kombu.common import Broadcast

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "appliance.settings")

app = Celery(
    "appliance",
    include=[
        "workers.config",
        "workers.agent",
        "workers.health",
        "workers.archive",
        "workers.tls",
        "workers.k8s",
        "workers.metrics",
        "workers.benchmarks",
    ],
)
app.config_from_object("django.conf:settings", namespace="CELERY")
# Explicit routing key on both sides: kombu's Redis fanout publishes to "<exchange>/<routing key>".
NODES = Broadcast("nodes", routing_key="nodes")
app.conf.task_queues = (Queue("control"), NODES)
app.conf.task_routes = {
    "workers.agent.converge": {"queue": NODES, "exchange": NODES.exchange, "routing_key": "nodes"}
}
app.conf.broker_connection_retry_on_startup = True


def broadcast(task: Task, *args: object) -> None:
    """Send `task` to every node agent.

    kombu's Redis transport only fans out to exchanges this process has declared; an undeclared one is
    silently treated as direct and the message is lost, so declare before every broadcast.
    """
    with app.producer_or_acquire() as producer:
        NODES.exchange(producer.channel).declare()
        task.apply_async(args=args, producer=producer)


# Safety nets only: changes are pushed as they happen. The periodic converge is also each node's
# heartbeat; the periodic compile catches a compile message lost with a Redis restart.
app.conf.beat_schedule = {
    "converge-nodes": {"task": "workers.agent.broadcast_converge", "schedule": 15.0},
    "compile-desired-state": {"task": "workers.config.compile_desired_state", "schedule": 60.0},
    # Health checks: each cycle checks only the servers that are due; a tick not started within a
    # second is dropped (expires) instead of piling up behind a busy worker.
    "health-cycle": {"task": "workers.health.run_cycle", "schedule": 0.5, "options": {"expires": 1.0}},
    # Catch-up for revision archives lost to a long storage outage; certificate renewal at 2/3 of lifetime.
    "archive-missing-revisions": {"task": "workers.archive.archive_missing", "schedule": 300.0},
    "renew-certificates": {"task": "workers.tls.renew_due_certificates", "schedule": 3600.0},
    # Autoscaling: each tick evaluates only the policies whose interval has come (leased: one at a time).
    "evaluate-scaling": {"task": "workers.k8s.evaluate_scaling", "schedule": 1.0, "options": {"expires": 2}},
    # Data-plane metrics: a scrape round every 2 s (a late round is dropped, the next one covers its span),
    # complete minutes rolled up into PostgreSQL every minute.
    "scrape-data-plane": {"task": "workers.metrics.scrape_nodes", "schedule": 2.0, "options": {"expires": 2}},
    "roll-up-metrics": {"task": "workers.metrics.roll_up_minutes", "schedule": 60.0},
    # Benchmark runs whose worker was lost are marked failed instead of staying "running" forever.
    "sweep-benchmark-runs": {"task": "workers.benchmarks.sweep_lost_runs", "schedule": 60.0},
}


def _ready_file() -> Path | None:
    raw = os.environ.get("LB_READY_FILE")
    return Path(raw) if raw else None


@signals.worker_ready.connect
@signals.beat_init.connect
def _mark_ready(**_: object) -> None:
    # The launcher waits for this file instead of sleeping: it appears only once the process is
    # connected to the broker and consuming.
    path = _ready_file()
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


@signals.worker_shutdown.connect
def _mark_stopped(**_: object) -> None:
    path = _ready_file()
    if path:
        path.unlink(missing_ok=True)
