"""Benchmark tasks (control queue): run one benchmark against a virtual server of this appliance."""

from celery import shared_task

from appliance.benchmarks.choices import DURATION_S

# A run is its duration plus HAProxy/wrk start-up, warm-up slices and storing the report; the limits leave
# room for that and stay far below the broker's visibility timeout.
_LIMIT_S = DURATION_S[1] + 120


@shared_task(
    name="workers.benchmarks.run_benchmark",
    # Never retried or redelivered: a benchmark that died half-way must not run again unasked. The
    # conditional claim in `execute` also makes a duplicate message a no-op.
    acks_late=False,
    soft_time_limit=_LIMIT_S,
    time_limit=_LIMIT_S + 30,
)
def run_benchmark(run_id: int) -> str:
    from appliance.benchmarks import services

    return services.execute(run_id)
