"""Dependency checks behind `/readyz`: each returns None when healthy or a short reason when not."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection

from appliance.celery import app as celery_app
from appliance.core import storage


def check_database() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return None


def check_redis() -> str | None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1).ping()
    return None


def check_storage() -> str | None:
    storage.ping()
    return None


def check_nginx() -> str | None:
    from appliance.lb.models import DataPlaneNode

    urls = [node.status_url for node in DataPlaneNode.objects.active()] or [settings.STACK.status_url]
    down = []
    for url in urls:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:  # noqa: S310 - our own URL
                if response.status != 200:
                    down.append(url)
        except OSError:
            down.append(url)
    return f"status listener not answering: {', '.join(down)}" if down else None


def check_workers() -> str | None:
    # A real round trip through the broker: every live worker answers the broadcast ping.
    replies = celery_app.control.ping(timeout=1.0)
    names = {name for reply in replies for name in reply}
    if not any(name.startswith("control@") for name in names):
        return "no control-plane worker answered a ping"
    return None


CHECKS: dict[str, Callable[[], str | None]] = {
    "database": check_database,
    "redis": check_redis,
    "object_storage": check_storage,
    "nginx": check_nginx,
    "worker": check_workers,
}


def run_checks() -> dict[str, dict[str, str]]:
    results = {}
    for name, check in CHECKS.items():
        try:
            problem = check()
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
        results[name] = {"status": "ok"} if problem is None else {"status": "down", "error": problem}
    return results
