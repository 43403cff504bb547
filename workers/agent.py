"""Node-agent tasks: converge every node's nginx on the newest revision (broadcast to all nodes)."""

from celery import shared_task

from appliance.celery import broadcast


@shared_task(name="workers.agent.converge", acks_late=False, soft_time_limit=60, time_limit=90)
def converge() -> int | None:
    # No retries and no late ack: a broadcast has no single consumer to redeliver to, converging is
    # idempotent, and the periodic broadcast below is the retry.
    from appliance.lb import agent

    status = agent.converge()
    return status.revision.number if status else None


@shared_task(name="workers.agent.broadcast_converge", soft_time_limit=10, time_limit=20)
def broadcast_converge() -> None:
    """Periodic: every node converges (and so reports its heartbeat)."""
    broadcast(converge)
