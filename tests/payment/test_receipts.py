"""Receipts: every payment's receipt really is in the bucket, and the API streams it back."""

from __future__ import annotations

import json
import uuid

import requests
from minio import Minio

from tests.payment.conftest import StartReplica
from tests.payment.helpers import TIMEOUT, create_ok

BUCKET = "receipts"


def test_the_receipt_object_is_in_the_bucket_with_the_payment_details(payments: list[str], s3: Minio) -> None:
    payment = create_ok(payments[0], amount="42.00", currency="SEK", reference="inv-7")

    stored = s3.get_object(BUCKET, payment["receipt_key"])
    try:
        document = json.loads(stored.read())
        assert stored.headers["Content-Type"] == "application/json"
    finally:
        stored.close()
        stored.release_conn()
    assert document["payment_id"] == payment["id"]
    assert (document["amount"], document["currency"], document["reference"]) == ("42.00", "SEK", "inv-7")
    assert (document["payer"], document["payee"]) == (payment["payer"], payment["payee"])
    assert document["issued_by"] == "payment-1"


def test_get_receipt_streams_the_stored_object_from_any_replica(payments: list[str], s3: Minio) -> None:
    payment = create_ok(payments[0])

    response = requests.get(f"{payments[2]}{payment['receipt_url']}", timeout=TIMEOUT)

    stored = s3.get_object(BUCKET, payment["receipt_key"])
    try:
        expected = stored.read()
    finally:
        stored.close()
        stored.release_conn()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Content-Length"] == str(len(expected))
    assert response.content == expected


def test_a_receipt_of_an_unknown_payment_is_404(payments: list[str]) -> None:
    response = requests.get(
        f"{payments[0]}/payments/00000000-0000-4000-8000-000000000000/receipt", timeout=TIMEOUT
    )

    assert response.status_code == 404


def test_the_service_creates_its_bucket_when_it_is_missing(start_replica: StartReplica, s3: Minio) -> None:
    bucket = f"receipts-{uuid.uuid4().hex[:12]}"
    replica = start_replica(94, env={"PAYMENT_RECEIPTS_BUCKET": bucket})
    assert not s3.bucket_exists(bucket)

    payment = create_ok(replica.url)

    assert s3.bucket_exists(bucket)
    assert s3.stat_object(bucket, payment["receipt_key"]).size > 0
