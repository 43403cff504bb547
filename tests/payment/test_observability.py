"""What operators and the load balancer see: headers, probes, metrics and structured logs."""

from __future__ import annotations

import json
import uuid

import requests
from prometheus_client.parser import text_string_to_metric_families

from appliance.launcher.stack import Stack
from tests.payment.helpers import TIMEOUT, create, create_ok


def test_every_response_names_the_instance_that_served_it(payments: list[str]) -> None:
    for index, base in enumerate(payments, start=1):
        ok = requests.get(f"{base}/healthz", timeout=TIMEOUT)
        missing = requests.get(f"{base}/no-such-path", timeout=TIMEOUT)
        invalid = create(base, {}, None)
        for response in (ok, missing, invalid):
            assert response.headers["X-Instance"] == f"payment-{index}"


def test_the_incoming_request_id_is_echoed_and_logged_as_json(infra: Stack, payments: list[str]) -> None:
    rid = uuid.uuid4().hex
    response = requests.get(f"{payments[1]}/payments", headers={"X-Request-ID": rid}, timeout=TIMEOUT)

    assert response.headers["X-Request-ID"] == rid
    lines = infra.cfg.path("logs", "payment-2.log").read_text().splitlines()
    logged = [json.loads(line) for line in lines if rid in line]
    assert logged, "no log line carries the request id"
    assert logged[-1]["request_id"] == rid
    assert logged[-1]["route"] == "/payments"
    assert logged[-1]["status"] == 200
    assert logged[-1]["instance"] == "payment-2"


def test_readiness_reports_each_dependency(payments: list[str]) -> None:
    response = requests.get(f"{payments[0]}/readyz", timeout=TIMEOUT)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": {"status": "ok"}, "object_storage": {"status": "ok"}}
    assert body["draining"] is False


def _sample(base: str, name: str, **labels: str) -> float:
    text = requests.get(f"{base}/metrics", timeout=TIMEOUT).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_metrics_count_requests_across_all_workers_of_an_instance(payments: list[str]) -> None:
    base = payments[2]
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    before = _sample(base, "payment_http_requests_total", **labels)

    for _ in range(20):  # a new connection each time, so both gunicorn workers get some
        requests.get(f"{base}/healthz", timeout=TIMEOUT)

    assert _sample(base, "payment_http_requests_total", **labels) == before + 20


def test_metrics_count_created_payments_and_latency(payments: list[str]) -> None:
    base = payments[2]
    created_before = _sample(base, "payment_payments_created_total", currency="NOK")
    timed_before = _sample(
        base, "payment_http_request_duration_seconds_count", method="POST", route="/payments"
    )
    create_ok(base, currency="NOK")

    assert _sample(base, "payment_payments_created_total", currency="NOK") == created_before + 1
    timed = _sample(base, "payment_http_request_duration_seconds_count", method="POST", route="/payments")
    assert timed == timed_before + 1
