"""Compile task: turns the newest desired state into a config revision (control queue)."""

from celery import shared_task
from django.db import OperationalError


@shared_task(
    name="workers.config.compile_desired_state",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def compile_desired_state(force: bool = False) -> int | None:
    from appliance.lb import services

    revision = services.compile_desired_state(force=force)
    return revision.number if revision else None
