"""The receipt document of a payment: where it is stored and exactly what it says.

Pure functions (no I/O): the object key is derived from the payment's id and date, so it is known before
the upload and never needs a second write to record it.
"""

from __future__ import annotations

import json

from payment.models import Payment

RECEIPT_VERSION = 1


def receipt_key(payment: Payment) -> str:
    return f"{payment.created_at:%Y/%m/%d}/{payment.id}.json"


def render_receipt(payment: Payment) -> bytes:
    document = {
        "receipt_version": RECEIPT_VERSION,
        "payment_id": str(payment.id),
        "amount": f"{payment.amount:.2f}",
        "currency": payment.currency,
        "payer": payment.payer,
        "payee": payment.payee,
        "reference": payment.reference,
        "created_at": payment.created_at.isoformat(),
        "issued_by": payment.instance,
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False, indent=2).encode() + b"\n"
