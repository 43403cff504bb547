"""Business rules of the payment service: creating payments exactly once and refunding them safely.

Consistency rule for receipts: a payment exists if and only if its receipt was stored. The payment row is
inserted, the receipt uploaded and only then the transaction committed; if the upload fails the insert is
rolled back and the caller gets `ReceiptStorageUnavailable` (HTTP 503), with nothing written. The one
window left is a commit that fails after a successful upload; the receipt is then deleted again on a best
effort basis, and an orphan receipt (a key no payment refers to) is harmless.

Idempotency: the insert of the payment row is what claims its idempotency key (a unique index). A
concurrent request with the same key blocks on that index until the first transaction ends: if it
committed, the late request gets an IntegrityError and answers with the winner; if it rolled back, the
late request becomes the one that creates the payment. Two payments for one key are impossible.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from payment import metrics, storage
from payment.models import Payment, PaymentStatus, Refund
from payment.receipts import receipt_key, render_receipt

log = logging.getLogger(__name__)


class IdempotencyConflict(Exception):
    """The idempotency key was already used for a payment with a different request body."""


class ReceiptStorageUnavailable(Exception):
    """The receipt could not be stored, so the payment was not created."""


class RefundRejected(Exception):
    """The refund would take back more than is left on the payment."""


@dataclass(frozen=True)
class PaymentRequest:
    """A validated request to create a payment (amount already quantised to cents)."""

    amount: Decimal
    currency: str
    payer: str
    payee: str
    reference: str = ""

    def fingerprint(self) -> str:
        # Hash the *normalised* values: "10" and "10.00" are the same request, so a client replaying it
        # with a different spelling gets its payment back instead of a conflict.
        canonical = {
            "amount": f"{self.amount:.2f}",
            "currency": self.currency,
            "payer": self.payer,
            "payee": self.payee,
            "reference": self.reference,
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class CreateOutcome:
    payment: Payment
    created: bool


def create_payment(key: str, request: PaymentRequest) -> CreateOutcome:
    """Create the payment for `key`, or return the one already created for it (same request only)."""
    fingerprint = request.fingerprint()
    existing = _replay(key, fingerprint)
    if existing is not None:
        return CreateOutcome(existing, created=False)
    try:
        payment = _insert_with_receipt(key, fingerprint, request)
    except IntegrityError:
        winner = _replay(key, fingerprint)
        if winner is None:
            raise  # not the idempotency key's constraint: a real error
        return CreateOutcome(winner, created=False)
    metrics.PAYMENTS_CREATED.labels(payment.currency).inc()
    log.info(
        "payment created",
        extra={"payment_id": str(payment.id), "amount": str(payment.amount), "currency": payment.currency},
    )
    return CreateOutcome(payment, created=True)


def _replay(key: str, fingerprint: str) -> Payment | None:
    payment = Payment.objects.filter(idempotency_key=key).first()
    if payment is None:
        return None
    if payment.request_hash != fingerprint:
        raise IdempotencyConflict(key)
    metrics.IDEMPOTENT_REPLAYS.inc()
    return payment


def _insert_with_receipt(key: str, fingerprint: str, request: PaymentRequest) -> Payment:
    payment = Payment(
        id=uuid.uuid4(),
        idempotency_key=key,
        request_hash=fingerprint,
        amount=request.amount,
        currency=request.currency,
        payer=request.payer,
        payee=request.payee,
        reference=request.reference,
        instance=settings.INSTANCE_ID,
        created_at=timezone.now(),
    )
    payment.receipt_key = receipt_key(payment)
    uploaded = False
    try:
        with transaction.atomic():
            payment.save(force_insert=True)
            try:
                storage.put_receipt(payment.receipt_key, render_receipt(payment))
            except storage.StorageError as exc:
                raise ReceiptStorageUnavailable(str(exc)) from exc
            uploaded = True
    except Exception:
        if uploaded:
            _forget_receipt(payment.receipt_key)
        raise
    return payment


def _forget_receipt(key: str) -> None:
    try:
        storage.delete_receipt(key)
    except storage.StorageError:
        log.warning("orphan receipt left behind after a failed commit", extra={"receipt_key": key})


def refund_payment(payment_id: uuid.UUID, amount: Decimal | None) -> Refund:
    """Refund `amount` (default: everything left) of a payment; raises Payment.DoesNotExist or RefundRejected.

    The payment row is locked for the whole check-and-update, so concurrent refunds are serialised and
    together can never exceed the amount paid (the database's check constraint is the second guard).
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        remaining = payment.refundable_amount
        if remaining <= 0:
            raise RefundRejected("the payment is already fully refunded")
        amount = remaining if amount is None else amount
        if amount > remaining:
            raise RefundRejected(f"exceeds the refundable amount of {remaining:.2f} {payment.currency}")
        refund = Refund.objects.create(payment=payment, amount=amount, instance=settings.INSTANCE_ID)
        payment.refunded_amount += amount
        payment.status = (
            PaymentStatus.REFUNDED if payment.refundable_amount == 0 else PaymentStatus.PARTIALLY_REFUNDED
        )
        payment.save(update_fields=["refunded_amount", "status", "updated_at"])
    metrics.REFUNDS.labels(payment.currency).inc()
    log.info(
        "payment refunded",
        extra={"payment_id": str(payment.id), "refund_id": str(refund.id), "amount": str(amount)},
    )
    return refund
