"""Idempotency keys: a retried or duplicated create never makes a second payment."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tests.payment.conftest import WORKERS_PER_REPLICA, DbLock
from tests.payment.helpers import create, new_key, payment_body


def test_a_replay_with_the_same_key_and_body_returns_the_original(payments: list[str]) -> None:
    key, body = new_key(), payment_body()
    first = create(payments[0], body, key)
    replay = create(payments[1], body, key)

    assert first.status_code == 201
    assert replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()


def test_the_same_amount_spelled_differently_is_the_same_request(payments: list[str]) -> None:
    key, body = new_key(), payment_body(amount="10")
    first = create(payments[0], body, key)
    replay = create(payments[2], {**body, "amount": "10.00"}, key)

    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json()["id"] == first.json()["id"]


def test_the_same_key_with_a_different_body_is_a_conflict(
    payments: list[str], count_rows: Callable[..., int]
) -> None:
    key, body = new_key(), payment_body()
    assert create(payments[0], body, key).status_code == 201

    conflict = create(payments[1], {**body, "amount": "11.00"}, key)

    assert conflict.status_code == 409
    assert "Idempotency-Key" in conflict.json()["detail"]
    assert count_rows("SELECT count(*) FROM payment_payment WHERE idempotency_key = %s", key) == 1


def test_twenty_concurrent_duplicates_create_exactly_one_payment(
    payments: list[str], count_rows: Callable[..., int], db_lock: DbLock
) -> None:
    key, body = new_key(), payment_body(amount="99.99")
    # Every worker of every replica passes the "already exists?" check and then waits to insert, so the
    # duplicates really do collide on the unique key (without the lock the first one usually finishes
    # before the others start, and only the easy path would be tested).
    db_lock.hold("LOCK TABLE payment_payment IN SHARE MODE")

    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(create, payments[i % len(payments)], body, key) for i in range(20)]
        db_lock.release_once_waiting(WORKERS_PER_REPLICA * len(payments))
        responses = [future.result() for future in futures]

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 19 + [201], [r.text for r in responses if r.status_code not in (200, 201)]
    assert len({r.json()["id"] for r in responses}) == 1
    assert count_rows("SELECT count(*) FROM payment_payment WHERE idempotency_key = %s", key) == 1
    assert count_rows("SELECT count(*) FROM payment_payment WHERE payer = %s", body["payer"]) == 1


def test_a_create_without_an_idempotency_key_is_refused(
    payments: list[str], count_rows: Callable[..., int]
) -> None:
    body = payment_body()
    missing = create(payments[0], body)
    malformed = create(payments[0], body, "has spaces and ünicode")

    assert missing.status_code == 400
    assert "Idempotency-Key" in missing.json()
    assert malformed.status_code == 400
    assert "Idempotency-Key" in malformed.json()
    assert count_rows("SELECT count(*) FROM payment_payment WHERE payer = %s", body["payer"]) == 0
