"""SIGTERM: the instance first reports draining (readiness 503) while still serving, then stops cleanly."""

from __future__ import annotations

import signal
import time

import requests

from tests.payment.conftest import StartReplica
from tests.payment.helpers import TIMEOUT


def test_sigterm_drains_before_the_instance_stops(start_replica: StartReplica) -> None:
    replica = start_replica(92, env={"PAYMENT_DRAIN_SECONDS": "1.5"})
    assert requests.get(f"{replica.url}/readyz", timeout=TIMEOUT).status_code == 200
    assert replica.child.proc is not None

    replica.child.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 1.0
    ready = requests.get(f"{replica.url}/readyz", timeout=TIMEOUT)
    while ready.status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
        ready = requests.get(f"{replica.url}/readyz", timeout=TIMEOUT)

    assert ready.status_code == 503
    assert ready.json()["draining"] is True
    assert requests.get(f"{replica.url}/healthz", timeout=TIMEOUT).status_code == 200  # still serving
    assert replica.child.proc.wait(timeout=10) == 0
