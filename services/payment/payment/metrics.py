"""Prometheus metrics of one payment-service instance, summed over all its gunicorn workers.

gunicorn forks several workers per instance and each has its own memory, so the metrics use
prometheus_client's multiprocess mode: every worker writes its samples to files in
`PROMETHEUS_MULTIPROC_DIR` (a per-instance directory the arbiter creates and empties at start, see
payment.gunicorn_hooks) and a scrape of `/metrics` on any worker merges all of them. Without that variable
(a management command, a dev server) the metrics live in the process, which is then the whole instance.

Label values come from small closed sets (methods, URL *patterns*, status codes, currencies from the
allow-list), never from user input, so the number of series stays bounded.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

from payment.runtime import METRICS_ENV

HTTP_REQUESTS = Counter(
    "payment_http_requests_total",
    "HTTP requests answered, by method, route pattern and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "payment_http_request_duration_seconds",
    "Time from request to response, by method and route pattern.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_IN_PROGRESS = Gauge(
    "payment_http_requests_in_progress",
    "Requests being served right now by live workers.",
    multiprocess_mode="livesum",
)
PAYMENTS_CREATED = Counter("payment_payments_created_total", "Payments created, by currency.", ["currency"])
IDEMPOTENT_REPLAYS = Counter(
    "payment_idempotent_replays_total",
    "Create requests answered with an existing payment (same key and body).",
)
REFUNDS = Counter("payment_refunds_total", "Refunds recorded, by currency.", ["currency"])
ERRORS = Counter(
    "payment_errors_total",
    "Requests that failed on our side, by cause (storage, database, injected_fault, unhandled).",
    ["kind"],
)

CONTENT_TYPE = CONTENT_TYPE_LATEST


def render() -> bytes:
    if os.environ.get(METRICS_ENV):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
