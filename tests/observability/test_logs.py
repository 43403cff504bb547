"""Structured logs: nginx's JSON access log with upstream timing, Celery's JSON lines with request ids."""

from __future__ import annotations

import json
import urllib.request
import uuid

from appliance.core.logging import request_id
from tests.support.lb import wait_until
from workers.config import compile_desired_state


def _json_lines(path) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # Celery's start-up banner and warnings are not log records
    return [r for r in records if isinstance(r, dict)]


def test_the_access_log_has_the_request_id_the_client_got_and_upstream_timing(pools):
    backend = pools.backend("obs-log1")
    url = pools.pool("obs-log", [backend])
    with urllib.request.urlopen(url + "/orders/7", timeout=5) as response:
        rid = response.headers["X-Request-ID"]
    log = pools.stack.nodes[0].prefix / "logs" / "access.log"
    record = wait_until(
        lambda: next((r for r in _json_lines(log) if r["request_id"] == rid), None), 10, "the access log line"
    )
    assert record["status"] == 200 and record["uri"] == "/orders/7"
    assert record["upstream_addr"] == f"127.0.0.1:{backend.port}" and record["upstream_status"] == "200"
    for timing in ("upstream_connect_time", "upstream_header_time", "upstream_response_time"):
        assert float(record[timing]) >= 0


def test_a_task_queued_while_serving_a_request_logs_json_with_that_request_id(dataplane, transactional_db):
    rid = f"obs-{uuid.uuid4().hex}"
    token = request_id.set(rid)  # what RequestIdMiddleware does for every web request
    try:
        result = compile_desired_state.delay()
    finally:
        request_id.reset(token)
    log = dataplane.cfg.path("logs", "worker.log")
    # Celery's own "Task ... succeeded" line, written in the task's context like the task's own lines.
    record = wait_until(
        lambda: next((r for r in _json_lines(log) if f"{result.id}] succeeded" in r.get("msg", "")), None),
        20,
        "the task succeeded line",
    )
    assert record["request_id"] == rid and "workers.config.compile_desired_state" in record["msg"]
    assert {"ts", "level", "logger"} <= record.keys()
