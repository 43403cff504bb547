"""Routes of the payment service. No trailing slashes: the paths are the contract the LB demos use."""

from django.urls import path

from payment import ops_views, views

urlpatterns = [
    path("payments", views.PaymentList.as_view(), name="payment-list"),
    path("payments/<uuid:pk>", views.PaymentDetail.as_view(), name="payment-detail"),
    path("payments/<uuid:pk>/refund", views.refund_payment, name="payment-refund"),
    path("payments/<uuid:pk>/receipt", views.payment_receipt, name="payment-receipt"),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics_view, name="metrics"),
    path("faults", ops_views.fault_knobs, name="faults"),
]

handler404 = "payment.errors.not_found"
handler500 = "payment.errors.server_error"
