"""The payments API: thin views that validate, call payment.services and serialise the outcome."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from rest_framework import generics, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from payment import services, storage
from payment.filters import PaymentFilterSet
from payment.models import Payment
from payment.serializers import PaymentSerializer, RefundSerializer

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def idempotency_key(request: Request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        raise ValidationError({IDEMPOTENCY_HEADER: ["This header is required for POST /payments."]})
    if not _KEY.match(key):
        raise ValidationError({IDEMPOTENCY_HEADER: ["Must be 1-128 characters of A-Z a-z 0-9 . _ : -"]})
    return key


class PaymentList(generics.ListAPIView):
    """GET: payments, newest first, filtered and paginated. POST: create one (idempotent per key)."""

    queryset = Payment.objects.prefetch_related("refunds")
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilterSet

    def post(self, request: Request) -> Response:
        key = idempotency_key(request)
        serializer = PaymentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = services.create_payment(key, serializer.to_request())
        body = PaymentSerializer(outcome.payment).data
        if outcome.created:
            return Response(
                body, status=status.HTTP_201_CREATED, headers={"Location": f"/payments/{body['id']}"}
            )
        return Response(body, status=status.HTTP_200_OK, headers={"Idempotent-Replayed": "true"})


class PaymentDetail(generics.RetrieveAPIView):
    queryset = Payment.objects.prefetch_related("refunds")
    serializer_class = PaymentSerializer


@api_view(["POST"])
def refund_payment(request: Request, pk: uuid.UUID) -> Response:
    serializer = RefundSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        refund = services.refund_payment(pk, serializer.validated_data.get("amount"))
    except Payment.DoesNotExist:
        return Response({"detail": "No such payment."}, status=status.HTTP_404_NOT_FOUND)
    payment = Payment.objects.prefetch_related("refunds").get(pk=pk)
    return Response(
        {"refund": RefundSerializer(refund).data, "payment": PaymentSerializer(payment).data},
        status=status.HTTP_201_CREATED,
    )


@api_view(["GET"])
def payment_receipt(request: Request, pk: uuid.UUID) -> Any:
    payment = get_object_or_404(Payment, pk=pk)
    receipt = storage.open_receipt(payment.receipt_key)
    response = StreamingHttpResponse(receipt.chunks, content_type="application/json")
    if receipt.length is not None:
        response["Content-Length"] = str(receipt.length)
    response["Content-Disposition"] = f'inline; filename="receipt-{payment.id}.json"'
    return response
