"""When receipt storage is unreachable the replica says so and refuses payments without writing anything."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from appliance.launcher.services import PaymentReplica
from tests.payment.conftest import StartReplica, free_port
from tests.payment.helpers import TIMEOUT, create, new_key, payment_body


@pytest.fixture(scope="module")
def storage_down(start_replica: StartReplica) -> PaymentReplica:
    # Nothing listens on a port we just found free: every S3 call is refused at once.
    return start_replica(93, env={"PAYMENT_S3_ENDPOINT": f"127.0.0.1:{free_port()}"})


def test_readiness_is_503_while_storage_is_unreachable(storage_down: PaymentReplica) -> None:
    ready = requests.get(f"{storage_down.url}/readyz", timeout=TIMEOUT)
    alive = requests.get(f"{storage_down.url}/healthz", timeout=TIMEOUT)

    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["object_storage"]["status"] == "down"
    assert checks["database"] == {"status": "ok"}
    assert alive.status_code == 200  # an outage elsewhere is no reason to restart this process


def test_a_payment_is_not_created_when_its_receipt_cannot_be_stored(
    storage_down: PaymentReplica, payments: list[str], count_rows: Callable[..., int]
) -> None:
    key, body = new_key(), payment_body()

    response = create(storage_down.url, body, key)

    assert response.status_code == 503
    assert "not created" in response.json()["detail"]
    assert response.headers["Retry-After"] == "1"
    assert count_rows("SELECT count(*) FROM payment_payment WHERE idempotency_key = %s", key) == 0
    assert count_rows("SELECT count(*) FROM payment_payment WHERE payer = %s", body["payer"]) == 0
    # The key was not used up: the client's retry on a healthy replica creates the payment.
    assert create(payments[0], body, key).status_code == 201
