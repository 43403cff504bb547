"""Health-check cycle task (control queue), enqueued by beat every half second."""

from celery import shared_task


@shared_task(
    name="workers.health.run_cycle",
    # No late ack and no retries: a cycle is idempotent, and the next beat tick (half a second later)
    # is the retry. A redelivered old tick would only find its servers already checked or still claimed.
    acks_late=False,
    max_retries=0,
    # Above the longest check (10 s, appliance.health.validators.BOUNDS) plus claiming and recording.
    soft_time_limit=14,
    time_limit=15,
)
def run_cycle() -> dict[str, int]:
    from appliance.health import services

    report = services.run_cycle()
    return {"checked": len(report.claimed), "transitions": report.transitions, "ms": report.duration_ms}
