"""Creating, fetching and listing payments through the real replicas."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import requests

from tests.payment.helpers import TIMEOUT, create, create_ok, new_key, payment_body


def test_a_created_payment_can_be_fetched_from_every_replica(payments: list[str]) -> None:
    body = payment_body(amount="12.5", currency="USD", reference="order-42")
    response = create(payments[0], body, new_key())

    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["Location"] == f"/payments/{created['id']}"
    assert created["amount"] == "12.50"
    assert created["status"] == "succeeded"
    assert created["refunded_amount"] == "0.00"
    assert created["instance"] == "payment-1"
    for base in payments:
        fetched = requests.get(f"{base}/payments/{created['id']}", timeout=TIMEOUT)
        assert fetched.status_code == 200
        assert fetched.json() == created


def test_the_payment_row_stores_the_normalised_request(
    payments: list[str], count_rows: Callable[..., int]
) -> None:
    created = create_ok(payments[1], amount="7.1", payee="Zoë's Café")

    assert (
        count_rows("SELECT count(*) FROM payment_payment WHERE id = %s AND amount = 7.10", created["id"]) == 1
    )
    assert created["payee"] == "Zoë's Café"


def test_an_unknown_payment_is_a_json_404(payments: list[str]) -> None:
    response = requests.get(f"{payments[0]}/payments/{uuid.uuid4()}", timeout=TIMEOUT)
    malformed = requests.get(f"{payments[0]}/payments/not-a-uuid", timeout=TIMEOUT)

    assert response.status_code == 404
    assert malformed.status_code == 404
    assert malformed.headers["Content-Type"].startswith("application/json")


def test_the_list_is_paginated_and_filtered(payments: list[str]) -> None:
    payer = f"payer-{uuid.uuid4().hex[:12]}"
    ids = [create_ok(payments[i % 3], payer=payer, currency="GBP")["id"] for i in range(3)]
    create_ok(payments[0], payer=payer, currency="CHF")

    first = requests.get(
        f"{payments[2]}/payments", params={"payer": payer, "currency": "GBP", "page_size": 2}, timeout=TIMEOUT
    )
    assert first.status_code == 200
    page = first.json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 3
    assert page["previous"] is None
    second = requests.get(page["next"], timeout=TIMEOUT).json()
    listed = [p["id"] for p in page["results"] + second["results"]]
    assert sorted(listed) == sorted(ids)
    assert listed == list(reversed(ids))  # newest first
    assert second["next"] is None


def test_a_bad_filter_value_is_a_field_error(payments: list[str]) -> None:
    response = requests.get(f"{payments[0]}/payments", params={"currency": "usd"}, timeout=TIMEOUT)

    assert response.status_code == 400
    assert "currency" in response.json()
