"""Small HTTP helpers shared by the payment-service tests."""

from __future__ import annotations

import uuid
from typing import Any

import requests

TIMEOUT = 10


def new_key() -> str:
    return f"test-{uuid.uuid4()}"


def payment_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "amount": "10.00",
        "currency": "EUR",
        "payer": f"payer-{uuid.uuid4().hex[:12]}",
        "payee": "Shop Ltd",
    }
    body.update(overrides)
    return body


def create(base: str, body: Any, key: str | None = None, **headers: str) -> requests.Response:
    if key is not None:
        headers["Idempotency-Key"] = key
    return requests.post(f"{base}/payments", json=body, headers=headers, timeout=TIMEOUT)


def create_ok(base: str, **overrides: Any) -> dict[str, Any]:
    response = create(base, payment_body(**overrides), new_key())
    assert response.status_code == 201, response.text
    return dict(response.json())


def refund(base: str, payment_id: str, amount: str | None = None) -> requests.Response:
    body = {} if amount is None else {"amount": amount}
    return requests.post(f"{base}/payments/{payment_id}/refund", json=body, timeout=TIMEOUT)
