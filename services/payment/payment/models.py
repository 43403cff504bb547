"""The payment domain: a captured `Payment` and the `Refund`s taken against it.

Invariants the database itself enforces, so that no code path (or concurrent request) can break them:
one payment per idempotency key, amounts strictly positive, and never more refunded than was paid.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models

MAX_DIGITS = 12
AMOUNT_PLACES = 2


class PaymentStatus(models.TextChoices):
    SUCCEEDED = "succeeded"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class Payment(models.Model):
    """Money moved from a payer to a payee, created once per client idempotency key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    idempotency_key = models.CharField(max_length=128, unique=True)
    # SHA-256 of the normalised request; a replay with the same key must carry the same request.
    request_hash = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=AMOUNT_PLACES)
    currency = models.CharField(max_length=3)
    payer = models.CharField(max_length=128)
    payee = models.CharField(max_length=128)
    reference = models.CharField(max_length=128, blank=True, default="")
    status = models.CharField(max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.SUCCEEDED)
    refunded_amount = models.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=AMOUNT_PLACES, default=Decimal(0)
    )
    receipt_key = models.CharField(max_length=255)
    # Which replica served the creating request: lets a load-balancing demo show where requests landed.
    instance = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["payer", "-created_at"], name="payment_payer_created"),
            models.Index(fields=["status", "-created_at"], name="payment_status_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__gte=0, refunded_amount__lte=models.F("amount")),
                name="payment_refunds_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} {self.payer} -> {self.payee}"

    @property
    def refundable_amount(self) -> Decimal:
        return self.amount - self.refunded_amount


class Refund(models.Model):
    """Money returned to the payer of a payment; many partial refunds may add up to the full amount."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=AMOUNT_PLACES)
    instance = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} of {self.payment_id}"
