"""Certificate tasks (control queue): ACME orders step by step, and the renewal sweep.

Tasks carry ids only: private keys are made, sealed and opened inside the services, never sent through
the broker.
"""

from celery import Task, shared_task


@shared_task(
    bind=True,
    name="workers.tls.advance_acme_order",
    acks_late=True,
    # Each step is short; waiting (for the answers to be live, for the CA) is a retry with a countdown,
    # so the worker is never blocked. The order fails by itself after ORDER_TIMEOUT.
    max_retries=None,
    soft_time_limit=150,
    time_limit=180,
)
def advance_acme_order(self: Task, order_id: int) -> str:
    from appliance.tls import acme

    try:
        status = acme.advance(order_id)
    except acme.TRANSIENT_ERRORS as exc:
        raise self.retry(exc=exc, countdown=min(60, 2 ** min(self.request.retries, 6))) from exc
    if status in acme.WAITING:
        raise self.retry(countdown=1)
    return status


@shared_task(name="workers.tls.renew_due_certificates", acks_late=False, soft_time_limit=60, time_limit=90)
def renew_due_certificates() -> list[int]:
    """Periodic: start an ACME order for every certificate past two thirds of its lifetime."""
    from appliance.tls import services

    return services.renew_due()
