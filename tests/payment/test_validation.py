"""Strict input: every bad field is named in a 400 answer, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.payment.helpers import TIMEOUT, create, new_key, payment_body

BAD_FIELDS = [
    ({"amount": "0"}, "amount"),
    ({"amount": "0.00"}, "amount"),
    ({"amount": "-5.00"}, "amount"),
    ({"amount": "1.234"}, "amount"),
    ({"amount": "1e3"}, "amount"),
    ({"amount": "NaN"}, "amount"),
    ({"amount": " 10"}, "amount"),
    ({"amount": "1000000.01"}, "amount"),
    ({"amount": "99999999999999999999"}, "amount"),
    ({"amount": 10.5}, "amount"),
    ({"amount": None}, "amount"),
    ({"currency": "usd"}, "currency"),
    ({"currency": "XXX"}, "currency"),
    ({"currency": "JPY"}, "currency"),
    ({"currency": ""}, "currency"),
    ({"payer": ""}, "payer"),
    ({"payer": "x" * 129}, "payer"),
    ({"payer": "nul\x00byte"}, "payer"),
    ({"payee": "line\nbreak"}, "payee"),
    ({"payee": "bell\x07"}, "payee"),
    ({"reference": "r" * 129}, "reference"),
    ({"id": "00000000-0000-0000-0000-000000000000"}, "id"),
    ({"status": "refunded"}, "status"),
    ({"surprise": 1}, "surprise"),
]


@pytest.mark.parametrize(("change", "field"), BAD_FIELDS, ids=[f"{f}={c[f]!r:.20}" for c, f in BAD_FIELDS])
def test_a_bad_field_is_reported_by_name_and_nothing_is_stored(
    payments: list[str], count_rows: Callable[..., int], change: dict[str, Any], field: str
) -> None:
    key = new_key()
    response = create(payments[0], payment_body(**change), key)

    assert response.status_code == 400, response.text
    errors = response.json()
    assert list(errors) == [field]
    assert isinstance(errors[field], list)
    assert all(isinstance(message, str) for message in errors[field])
    assert count_rows("SELECT count(*) FROM payment_payment WHERE idempotency_key = %s", key) == 0


def test_missing_fields_are_all_reported_at_once(payments: list[str]) -> None:
    response = create(payments[1], {}, new_key())

    assert response.status_code == 400
    assert set(response.json()) == {"amount", "currency", "payer", "payee"}


@pytest.mark.parametrize("raw", [b"[1, 2]", b"{not json", b'"just a string"'])
def test_a_body_that_is_not_a_json_object_is_refused(payments: list[str], raw: bytes) -> None:
    response = requests.post(
        f"{payments[2]}/payments",
        data=raw,
        headers={"Content-Type": "application/json", "Idempotency-Key": new_key()},
        timeout=TIMEOUT,
    )

    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")


def test_a_body_that_is_not_json_at_all_is_refused(payments: list[str]) -> None:
    response = requests.post(
        f"{payments[0]}/payments",
        data="amount=10",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": new_key()},
        timeout=TIMEOUT,
    )

    assert response.status_code == 415
