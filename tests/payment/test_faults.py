"""Fault knobs: refused unless the instance enables them; when enabled, shared by all its workers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import requests

from appliance.launcher.services import PaymentReplica
from tests.payment.conftest import StartReplica
from tests.payment.helpers import TIMEOUT, create, create_ok, new_key, payment_body


@pytest.fixture(scope="module")
def faulty_replica(start_replica: StartReplica) -> PaymentReplica:
    return start_replica(91, faults=True)


@pytest.fixture
def faulty(faulty_replica: PaymentReplica) -> Iterator[PaymentReplica]:
    """The faults-enabled replica, with every knob reset after the test."""
    yield faulty_replica
    requests.delete(f"{faulty_replica.url}/faults", timeout=TIMEOUT)


def set_faults(replica: PaymentReplica, **knobs: object) -> dict[str, object]:
    response = requests.put(f"{replica.url}/faults", json=knobs, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_fault_knobs_are_refused_unless_enabled(payments: list[str]) -> None:
    put = requests.put(f"{payments[0]}/faults", json={"error_rate": 1.0}, timeout=TIMEOUT)
    get = requests.get(f"{payments[0]}/faults", timeout=TIMEOUT)

    assert put.status_code == 403
    assert get.status_code == 403
    assert "PAYMENT_FAULTS_ENABLED" in put.json()["detail"]
    create_ok(payments[0])  # and nothing changed


def test_knobs_are_validated(faulty: PaymentReplica) -> None:
    for bad in ({"error_rate": 1.5}, {"latency_ms": -1}, {"latency_ms": 60_000}, {"explode": True}):
        response = requests.put(f"{faulty.url}/faults", json=bad, timeout=TIMEOUT)
        assert response.status_code == 400, bad
        assert set(response.json()) == set(bad)


def test_added_latency_slows_the_api_but_not_the_probes(faulty: PaymentReplica) -> None:
    assert set_faults(faulty, latency_ms=400)["latency_ms"] == 400

    started = time.monotonic()
    assert requests.get(f"{faulty.url}/payments", timeout=TIMEOUT).status_code == 200
    slow = time.monotonic() - started
    started = time.monotonic()
    assert requests.get(f"{faulty.url}/healthz", timeout=TIMEOUT).status_code == 200
    fast = time.monotonic() - started

    assert slow >= 0.4
    assert fast < 0.3


def test_an_error_rate_of_one_fails_every_request_in_every_worker_without_side_effects(
    faulty: PaymentReplica, count_rows: Callable[..., int]
) -> None:
    set_faults(faulty, error_rate=1.0)
    body = payment_body()

    responses = [create(faulty.url, body, new_key()) for _ in range(10)]  # new connection each: both workers

    assert {r.status_code for r in responses} == {500}
    assert all(r.headers["X-Fault-Injected"] == "error" for r in responses)
    assert all(r.headers["X-Instance"] == "payment-91" for r in responses)
    assert count_rows("SELECT count(*) FROM payment_payment WHERE payer = %s", body["payer"]) == 0


def test_a_partial_error_rate_fails_about_that_share(faulty: PaymentReplica) -> None:
    set_faults(faulty, error_rate=0.5)

    failed = sum(
        requests.get(f"{faulty.url}/payments", timeout=TIMEOUT).status_code == 500 for _ in range(60)
    )

    assert 10 <= failed <= 50  # binomial(60, 0.5): outside this range has odds below one in a million


def test_clearing_the_knobs_restores_normal_service(faulty: PaymentReplica) -> None:
    set_faults(faulty, error_rate=1.0, latency_ms=100)

    cleared = requests.delete(f"{faulty.url}/faults", timeout=TIMEOUT)

    assert cleared.json() == {
        "instance": "payment-91",
        "latency_ms": 0,
        "error_rate": 0.0,
        "fail_readiness": False,
    }
    assert create(faulty.url, payment_body(), new_key()).status_code == 201


def test_failing_readiness_takes_the_instance_out_but_keeps_it_serving(faulty: PaymentReplica) -> None:
    set_faults(faulty, fail_readiness=True)

    ready = requests.get(f"{faulty.url}/readyz", timeout=TIMEOUT)
    assert ready.status_code == 503
    assert ready.json()["fail_readiness_fault"] is True
    assert requests.get(f"{faulty.url}/payments", timeout=TIMEOUT).status_code == 200

    set_faults(faulty, fail_readiness=False)
    assert requests.get(f"{faulty.url}/readyz", timeout=TIMEOUT).status_code == 200
