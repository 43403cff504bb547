"""Django app configuration for the payment domain."""

from django.apps import AppConfig


class PaymentConfig(AppConfig):
    name = "payment"
    verbose_name = "Payments"
    default_auto_field = "django.db.models.BigAutoField"
