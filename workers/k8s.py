"""Autoscaling task (control queue), enqueued by beat every second.

Discovery does not run here: the watches are long-lived streams, kept by the `manage.py k8s_watch`
process (see `appliance.k8s.watcher`).
"""

from celery import shared_task


@shared_task(
    name="workers.k8s.evaluate_scaling",
    # No late ack and no retries: an evaluation is claimed per policy and interval, and the next beat tick
    # (a second later) is the retry; a redelivered old tick finds nothing due.
    acks_late=False,
    max_retries=0,
    # Each policy costs a few API calls of at most ~13 s (connect 3 s + read 10 s) when a cluster hangs.
    soft_time_limit=50,
    time_limit=60,
)
def evaluate_scaling() -> dict[str, int]:
    from appliance.k8s import scaler

    decisions = scaler.evaluate_due()
    return {"evaluated": len(decisions), "scaled": sum(d.outcome == "scaled" for d in decisions)}
