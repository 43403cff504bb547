"""Celery signal receivers: task outcomes counted in Redis, and the request id carried into tasks.

Counts live in Redis (`store.CELERY_TASKS`), not in the worker's memory, because the web app's /metrics
reads them at scrape time from another process; they survive worker restarts, so they stay counters.

A task published while a request is served carries the request's id in the `lb_request_id` message
header; the worker puts it back into `appliance.core.logging.request_id` while the task runs, so the
task's JSON log lines carry the same id as the request that caused them (tasks started by beat carry
their own task id instead).
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery import signals

from appliance.core.logging import request_id
from appliance.observability import store

log = logging.getLogger(__name__)
HEADER = "lb_request_id"


def _count(task: Any, outcome: str) -> None:
    name = getattr(task, "name", None) or "unknown"
    try:
        store.client().hincrby(store.CELERY_TASKS, f"{name}|{outcome}", 1)
    except redis.RedisError as exc:
        log.warning("task %s: could not count outcome %s: %s", name, outcome, exc)


@signals.task_success.connect
def _on_success(sender: Any = None, **_: Any) -> None:
    _count(sender, "succeeded")


@signals.task_failure.connect
def _on_failure(sender: Any = None, **_: Any) -> None:
    _count(sender, "failed")


@signals.task_retry.connect
def _on_retry(sender: Any = None, **_: Any) -> None:
    _count(sender, "retried")


@signals.before_task_publish.connect
def _carry_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    current = request_id.get()
    if headers is not None and current != "-":
        headers.setdefault(HEADER, current)


@signals.task_prerun.connect
def _adopt_request_id(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    carried = getattr(getattr(task, "request", None), HEADER, None)
    request_id.set(str(carried or task_id or "-"))


@signals.task_postrun.connect
def _forget_request_id(**_: Any) -> None:
    request_id.set("-")
