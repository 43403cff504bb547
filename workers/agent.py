"""Node-agent task: converge this node's nginx on the newest revision (broadcast to every node)."""

from celery import shared_task
from django.db import OperationalError


@shared_task(name="workers.agent.converge", acks_late=False, autoretry_for=(OperationalError,),
             retry_backoff=True, max_retries=5, soft_time_limit=60, time_limit=90)
def converge() -> int | None:
    # acks_late is off: a broadcast message has no one to be redelivered to, and converging again is
    # what the periodic beat entry does anyway.
    from appliance.lb import agent

    status = agent.converge()
    return status.revision.number if status else None
