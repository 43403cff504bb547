"""Benchmark tasks (control queue): run one benchmark against a virtual server of this appliance, and sweep
runs whose worker was lost."""

from celery import shared_task

from appliance.benchmarks.choices import RUN_LIMIT_S


@shared_task(
    name="workers.benchmarks.run_benchmark",
    # Never retried or redelivered: a benchmark that died half-way must not run again unasked. The
    # conditional claim in `execute` also makes a duplicate message a no-op.
    acks_late=False,
    soft_time_limit=RUN_LIMIT_S,
    time_limit=RUN_LIMIT_S + 30,
)
def run_benchmark(run_id: int) -> str:
    from appliance.benchmarks import services

    return services.execute(run_id)


@shared_task(name="workers.benchmarks.sweep_lost_runs", soft_time_limit=20, time_limit=30)
def sweep_lost_runs() -> int:
    """Periodic: a run whose worker died (killed, OOM, node lost) would otherwise stay `running` forever."""
    from appliance.benchmarks import services

    return services.sweep_lost_runs()
