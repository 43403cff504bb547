"""Benchmark runs: start (enqueued after commit), check, cancel, sweep, and the run's life in the worker.

A run targets one virtual server of this appliance, on loopback only (the scenarios and what each needs:
`appliance.benchmarks.scenarios`). Which targets fit which scenario is checked at the boundary
(`run_errors`, used by the API serializer and the UI form) and again by the worker, since the target may
change while the run waits in the queue.

The worker claims a queued run with a conditional UPDATE (a redelivered message finds nothing to do), runs
the scenario, which polls `cancel_requested` twice a second while the load runs (a cancel kills `wrk`,
`h2load`, `openssl` or `hey` at once), and stores the report (HTML) and the results (JSON) in the
`reports` bucket. A periodic sweep (`sweep_lost_runs`) fails the runs whose worker was lost, which would
otherwise stay running forever.
"""

from __future__ import annotations

import json
import logging
import subprocess
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from appliance.benchmarks.choices import (
    LOST_AFTER_S,
    NEVER_STARTED_AFTER_S,
    RUN_LIMIT_S,
    TLS_DURATION_S,
    RunStatus,
    Scenario,
)
from appliance.benchmarks.models import BenchmarkRun
from appliance.core import storage
from appliance.k8s.choices import Metric
from appliance.k8s.models import ScalingPolicy
from appliance.lb.models import VirtualServer

log = logging.getLogger(__name__)


class BenchmarkRefused(Exception):
    """The target cannot be benchmarked as asked (not on loopback, no server, nothing to freeze)."""


def https_ports(vs: VirtualServer) -> list[int]:
    from appliance.tls.models import VirtualServerTls

    binding = VirtualServerTls.objects.filter(virtual_server=vs).first()
    return list(binding.https_ports) if binding else []


def scaling_policy_of(vs: VirtualServer) -> ScalingPolicy | None:
    """The scaling policy of a Kubernetes binding feeding the default upstream (the oldest, if several)."""
    policies = ScalingPolicy.objects.filter(binding__upstream_id=vs.default_upstream_id).order_by("pk")
    return policies.select_related("binding__cluster").first()


def run_errors(scenario: str, vs: VirtualServer, duration_s: int) -> dict[str, str]:
    """Why a `scenario` run against `vs` cannot be made, by field; empty if it can."""
    if vs.default_upstream_id is None:
        return {"virtual_server": "This virtual server has no default upstream."}
    if scenario == Scenario.TLS:
        if not https_ports(vs):
            return {"virtual_server": "This virtual server has no HTTPS port: a TLS run needs a TLS binding."}
        if duration_s > TLS_DURATION_S:
            return {
                "duration_s": f"A TLS run times each handshake phase this long: at most {TLS_DURATION_S} s."
            }
        return {}
    if not vs.http_ports:
        return {"virtual_server": "This virtual server has no plain-HTTP port to send load to."}
    if scenario == Scenario.AUTOSCALE:
        policy = scaling_policy_of(vs)
        if policy is None:
            return {
                "virtual_server": "Its default upstream is not bound to a Kubernetes service with a scaling "
                "policy: an autoscale run needs one."
            }
        if not policy.enabled or policy.metric != Metric.RPS_PER_REPLICA:
            return {
                "virtual_server": "An autoscale run sizes its load from an enabled scaling policy on "
                "requests/s per replica; this upstream's policy is not one."
            }
    return {}


def start_run(
    user: Any,
    scenario: str,
    virtual_server: VirtualServer,
    duration_s: int,
    concurrency: int,
    applies: int = 10,
) -> BenchmarkRun:
    """Create a queued run; the task is sent once the transaction commits."""
    from workers.benchmarks import run_benchmark

    run = BenchmarkRun.objects.create(
        scenario=scenario,
        virtual_server=virtual_server,
        target_name=virtual_server.name,
        duration_s=duration_s,
        concurrency=concurrency,
        applies=applies,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        message="queued",
    )
    transaction.on_commit(lambda: run_benchmark.delay(run.pk))
    return run


def request_cancel(run: BenchmarkRun) -> BenchmarkRun:
    """A queued run is cancelled at once; a running one when its worker next looks (within a second)."""
    now = timezone.now()
    BenchmarkRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
        status=RunStatus.CANCELLED,
        cancel_requested=True,
        finished_at=now,
        message="cancelled before it started",
    )
    BenchmarkRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        cancel_requested=True, message="cancelling"
    )
    run.refresh_from_db()
    return run


def report_bytes(run: BenchmarkRun, kind: str = "report") -> bytes:
    """The stored report (HTML), results (JSON) or PDF; raises `storage.ObjectNotFound`/`StorageError`."""
    key = {"report": run.report_key, "results": run.results_key, "pdf": run.pdf_key}[kind]
    if not key:
        raise storage.ObjectNotFound(f"benchmark run {run.pk} has no {kind}")
    return storage.get_bytes("reports", key)


def sweep_lost_runs() -> int:
    """Fail the runs whose worker is gone: still running past the task's hard time limit, or still queued
    long after they were created (the message was lost with its worker or the broker); how many."""
    now = timezone.now()
    lost = BenchmarkRun.objects.filter(
        status=RunStatus.RUNNING, started_at__lt=now - timedelta(seconds=LOST_AFTER_S)
    ).update(
        status=RunStatus.FAILED,
        finished_at=now,
        message="worker lost",
        error=f"worker lost: still running {LOST_AFTER_S} s after it started, past the time limit of a run "
        f"({RUN_LIMIT_S} s); its worker was stopped or died",
    )
    never = BenchmarkRun.objects.filter(
        status=RunStatus.QUEUED, created__lt=now - timedelta(seconds=NEVER_STARTED_AFTER_S)
    ).update(
        status=RunStatus.FAILED,
        finished_at=now,
        message="never started",
        error=f"never started: no worker took it within {NEVER_STARTED_AFTER_S // 60} minutes",
    )
    if lost or never:
        log.warning("benchmark sweep: %s runs lost by their worker, %s never started", lost, never)
    return lost + never


# ---- the run (Celery worker) ---------------------------------------------------------------------------


def _claim(run_id: int) -> bool:
    claimed = BenchmarkRun.objects.filter(pk=run_id, status=RunStatus.QUEUED, cancel_requested=False).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), progress=0, message="starting"
    )
    return claimed == 1


def execute(run_id: int) -> str:
    """Run a claimed benchmark to its end; returns the final status."""
    if not _claim(run_id):
        return "skipped"
    run = BenchmarkRun.objects.select_related("virtual_server__default_upstream").get(pk=run_id)
    from loadtests.load import LoadCancelled

    try:
        if run.virtual_server is None:
            raise BenchmarkRefused("the target virtual server was deleted")
        refused = run_errors(run.scenario, run.virtual_server, run.duration_s)
        if refused:
            raise BenchmarkRefused(" ".join(refused.values()))
        from appliance.benchmarks import scenarios

        report = scenarios.measure(run)
        _store(run, report)
    except LoadCancelled:
        return _finish(run_id, RunStatus.CANCELLED, "cancelled; wrk stopped")
    except BenchmarkRefused as exc:
        return _finish(run_id, RunStatus.FAILED, str(exc), error=str(exc))
    except Exception as exc:
        log.exception("benchmark run %s failed", run_id)
        return _finish(run_id, RunStatus.FAILED, "failed", error=f"{type(exc).__name__}: {exc}")
    return str(RunStatus.SUCCEEDED)


def _finish(run_id: int, status: Any, message: str, error: str = "") -> str:
    BenchmarkRun.objects.filter(pk=run_id).update(
        status=status, message=message[:300], error=error, finished_at=timezone.now()
    )
    return status


def _store(run: BenchmarkRun, report) -> None:
    from loadtests.report import render_html, render_pdf

    results = report.results()
    results["run"] = {"id": run.pk, "created_by": run.created_by.get_username() if run.created_by else ""}
    prefix = f"benchmarks/{run.pk:06d}"
    page = render_html(results)
    storage.put_bytes(
        "reports", f"{prefix}/results.json", json.dumps(results, indent=2).encode(), "application/json"
    )
    storage.put_bytes("reports", f"{prefix}/report.html", page.encode(), "text/html; charset=utf-8")
    pdf_key, message = "", "done"
    try:
        pdf = render_pdf(page)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:  # the run's figures stand without it
        log.warning("benchmark run %s: no PDF: %s", run.pk, exc)
        pdf, message = None, "done (the PDF could not be printed)"
    if pdf is not None:
        pdf_key = f"{prefix}/report.pdf"
        storage.put_bytes("reports", pdf_key, pdf, "application/pdf")
    BenchmarkRun.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED,
        progress=100,
        message=message,
        figures=report.figures,
        report_key=f"{prefix}/report.html",
        results_key=f"{prefix}/results.json",
        pdf_key=pdf_key,
        finished_at=timezone.now(),
    )
