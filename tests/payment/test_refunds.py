"""Refunds: partial, full, never more than was paid, even when they race."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import requests

from tests.payment.conftest import WORKERS_PER_REPLICA, DbLock
from tests.payment.helpers import create_ok, refund


def test_a_partial_then_a_full_refund_settle_the_payment(payments: list[str]) -> None:
    payment = create_ok(payments[0], amount="10.00")

    partial = refund(payments[1], payment["id"], "3.25")
    assert partial.status_code == 201, partial.text
    assert partial.json()["refund"]["amount"] == "3.25"
    assert partial.json()["payment"]["status"] == "partially_refunded"
    assert partial.json()["payment"]["refunded_amount"] == "3.25"
    assert partial.json()["payment"]["refundable_amount"] == "6.75"

    rest = refund(payments[2], payment["id"])  # no amount: everything that is left
    assert rest.status_code == 201, rest.text
    assert rest.json()["refund"]["amount"] == "6.75"
    assert rest.json()["payment"]["status"] == "refunded"
    assert rest.json()["payment"]["refunded_amount"] == "10.00"
    assert [r["amount"] for r in rest.json()["payment"]["refunds"]] == ["3.25", "6.75"]


def test_a_refund_larger_than_what_is_left_is_refused(
    payments: list[str], count_rows: Callable[..., int]
) -> None:
    payment = create_ok(payments[0], amount="5.00")
    assert refund(payments[0], payment["id"], "2.00").status_code == 201

    too_much = refund(payments[1], payment["id"], "3.01")

    assert too_much.status_code == 409
    assert "3.00" in too_much.json()["amount"][0]
    assert count_rows("SELECT count(*) FROM payment_refund WHERE payment_id = %s", payment["id"]) == 1


def test_a_fully_refunded_payment_cannot_be_refunded_again(payments: list[str]) -> None:
    payment = create_ok(payments[2], amount="1.00")
    assert refund(payments[2], payment["id"]).status_code == 201

    again = refund(payments[0], payment["id"])

    assert again.status_code == 409
    assert "amount" in again.json()


def test_refund_input_is_validated_and_unknown_payments_are_404(payments: list[str]) -> None:
    payment = create_ok(payments[0])

    assert refund(payments[0], payment["id"], "-1").status_code == 400
    assert refund(payments[0], payment["id"], "0.001").status_code == 400
    assert refund(payments[0], str(uuid.uuid4()), "1.00").status_code == 404


def test_ten_concurrent_refunds_never_exceed_the_amount(
    payments: list[str], count_rows: Callable[..., int], db_lock: DbLock
) -> None:
    payment = create_ok(payments[0], amount="10.00")
    # Lock the payment row so every worker's refund is in flight before any of them can finish.
    db_lock.hold("SELECT 1 FROM payment_payment WHERE id = %s FOR UPDATE", payment["id"])

    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [pool.submit(refund, payments[i % len(payments)], payment["id"], "1.50") for i in range(10)]
        db_lock.release_once_waiting(WORKERS_PER_REPLICA * len(payments))
        responses = [future.result() for future in futures]

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 6 + [409] * 4  # 6 x 1.50 = 9.00; a seventh would make 10.50
    final = requests.get(f"{payments[1]}/payments/{payment['id']}", timeout=10).json()
    assert final["refunded_amount"] == "9.00"
    assert sum(Decimal(r["amount"]) for r in final["refunds"]) == Decimal("9.00")
    assert count_rows("SELECT count(*) FROM payment_refund WHERE payment_id = %s", payment["id"]) == 6
