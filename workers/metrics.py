"""Metrics rollup tasks (control queue): scrape every data-plane node, roll ticks up into minutes."""

from celery import shared_task


@shared_task(
    name="workers.metrics.scrape_nodes", acks_late=False, ignore_result=True, soft_time_limit=8, time_limit=12
)
def scrape_nodes() -> int:
    # No retry and no late ack: a lost round is covered by the next one, whose increases span both.
    from appliance.observability import services

    return services.scrape_nodes()


@shared_task(
    name="workers.metrics.roll_up_minutes",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=50,
    time_limit=60,
)
def roll_up_minutes() -> int:
    # Idempotent (one row per scope and minute), so redelivery after a crash is harmless.
    from appliance.observability import services

    return services.roll_up_minutes()
