"""The sweep of lost benchmark runs, against the real PostgreSQL and through the real Celery worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from appliance.benchmarks.choices import LOST_AFTER_S, NEVER_STARTED_AFTER_S
from appliance.benchmarks.models import BenchmarkRun
from appliance.celery import app
from appliance.launcher.stack import Stack
from tests.benchmarks.conftest import wait_status
from workers.benchmarks import sweep_lost_runs


def _run(status: str, age_s: float, **fields: object) -> BenchmarkRun:
    run = BenchmarkRun.objects.create(scenario="latency", target_name="gone", status=status, **fields)
    at = timezone.now() - timedelta(seconds=age_s)
    BenchmarkRun.objects.filter(pk=run.pk).update(created=at, started_at=at if status == "running" else None)
    return run


def test_it_fails_runs_whose_worker_was_lost_and_leaves_live_ones_alone(
    dataplane: Stack, transactional_db: None
) -> None:
    lost = _run("running", LOST_AFTER_S + 5)
    busy = _run("running", LOST_AFTER_S - 60)
    stuck = _run("queued", NEVER_STARTED_AFTER_S + 5)
    waiting = _run("queued", 10)
    done = _run("succeeded", LOST_AFTER_S + 5)

    sweep_lost_runs.delay()  # the real worker, as beat sends it

    lost = wait_status(lost.pk, {"failed"}, 20)
    assert lost.error.startswith("worker lost") and lost.finished_at is not None
    stuck = wait_status(stuck.pk, {"failed"}, 5)
    assert stuck.error.startswith("never started")
    statuses = dict(BenchmarkRun.objects.values_list("pk", "status"))
    assert (statuses[busy.pk], statuses[waiting.pk], statuses[done.pk]) == ("running", "queued", "succeeded")


@pytest.mark.django_db
def test_a_late_worker_does_not_run_a_swept_run() -> None:
    from appliance.benchmarks import services

    stuck = _run("queued", NEVER_STARTED_AFTER_S + 5)
    assert services.sweep_lost_runs() == 1
    assert services.execute(stuck.pk) == "skipped"  # the claim wants a queued run
    assert BenchmarkRun.objects.get(pk=stuck.pk).status == "failed"


def test_beat_sweeps_every_minute() -> None:
    entry = app.conf.beat_schedule["sweep-benchmark-runs"]
    assert entry["task"] == sweep_lost_runs.name and entry["schedule"] <= 60
