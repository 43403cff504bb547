"""The API's one serializer per model: strict input at the boundary, the same shape for every output.

Input rules: amounts are decimal *strings* (JSON numbers are floats in most clients, and floats are not
money) with at most two decimal places and an upper bound; currencies come from an allow-list; names are
bounded printable text; unknown fields are rejected rather than silently ignored.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from payment.models import Payment, Refund
from payment.services import PaymentRequest

# ISO 4217 codes whose minor unit is two decimal places (so "≤ 2 decimal places" is exactly right).
CURRENCIES = ("AUD", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "NOK", "NZD", "PLN", "SEK", "USD")
MAX_AMOUNT = Decimal("1000000.00")
_AMOUNT = re.compile(r"^[0-9]{1,7}(\.[0-9]{1,2})?$")


class MoneyField(serializers.DecimalField):
    """A positive amount given as a plain decimal string such as "12.50"."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_digits=12, decimal_places=2, min_value=Decimal("0.01"), max_value=MAX_AMOUNT, **kwargs
        )

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str):
            raise serializers.ValidationError('Must be a decimal string such as "12.50", not a JSON number.')
        if not _AMOUNT.match(data):
            raise serializers.ValidationError('Must look like "12.50": digits, at most two decimal places.')
        return Decimal(super().to_internal_value(data))


def printable(value: str) -> str:
    if not value.isprintable():
        raise serializers.ValidationError("Must not contain control or other non-printable characters.")
    return value


class StrictSerializer(serializers.ModelSerializer):
    """Rejects fields the client may not set, instead of silently dropping them."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.initial_data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(self.initial_data) - writable)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown or read-only field."] for name in unknown})
        return attrs


class RefundSerializer(StrictSerializer):
    """A refund; on input only `amount`, optional (missing means everything that is left)."""

    amount = MoneyField(required=False)
    payment_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "payment_id", "amount", "instance", "created_at"]
        read_only_fields = ["id", "payment_id", "instance", "created_at"]


class PaymentSerializer(StrictSerializer):
    """A payment with its refunds; on input the five fields a client chooses."""

    amount = MoneyField()
    currency = serializers.ChoiceField(
        choices=CURRENCIES,
        error_messages={"invalid_choice": f'"{{input}}" is not one of {", ".join(CURRENCIES)}.'},
    )
    payer = serializers.CharField(min_length=1, max_length=128, validators=[printable])
    payee = serializers.CharField(min_length=1, max_length=128, validators=[printable])
    reference = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default="", validators=[printable]
    )
    refundable_amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    refunds = RefundSerializer(many=True, read_only=True)
    receipt_url = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = [
            "id",
            "amount",
            "currency",
            "payer",
            "payee",
            "reference",
            "status",
            "refunded_amount",
            "refundable_amount",
            "refunds",
            "receipt_key",
            "receipt_url",
            "instance",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "status",
            "refunded_amount",
            "receipt_key",
            "instance",
            "created_at",
            "updated_at",
        ]

    def get_receipt_url(self, payment: Payment) -> str:
        return f"/payments/{payment.id}/receipt"

    def to_request(self) -> PaymentRequest:
        data = self.validated_data
        return PaymentRequest(
            amount=data["amount"],
            currency=data["currency"],
            payer=data["payer"],
            payee=data["payee"],
            reference=data.get("reference", ""),
        )
