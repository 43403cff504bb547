"""Benchmark runs: start (enqueued after commit), cancel, and the run itself (called by the Celery task).

A run targets one virtual server of this appliance, on loopback only: the load goes to its first HTTP port
on 127.0.0.1; *direct* and HAProxy (throughput) use the servers of its default upstream, which must be
loopback addresses too. Scenarios:

- `throughput` — `loadtests.throughput`: direct vs our LB vs HAProxy, interleaved second by second;
- `latency` — steady load through the LB only;
- `failover` — `loadtests.failover`: one server of the default upstream stops answering (its processes
  are frozen with SIGSTOP, then resumed with SIGCONT: the appliance does not own them, so it never kills
  or restarts them), and the health checks' reaction is timed.

The worker claims a queued run with a conditional UPDATE (a redelivered message finds nothing to do), polls
`cancel_requested` twice a second while the load runs (a cancel kills `wrk` at once), and stores the report
(HTML) and the results (JSON) in the `reports` bucket.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.db import connection, transaction
from django.utils import timezone

from appliance.benchmarks.choices import RunStatus, Scenario
from appliance.benchmarks.models import BenchmarkRun
from appliance.core import storage
from appliance.lb.models import DataPlaneNode, Server, VirtualServer

log = logging.getLogger(__name__)
UPSTREAM_FIELDS = ("name", "algorithm", "keepalive", "connect_timeout_ms", "read_timeout_s", "retry_tries")


class BenchmarkRefused(Exception):
    """The target cannot be benchmarked as asked (not on loopback, no server, nothing to freeze)."""


def start_run(
    user: Any, scenario: str, virtual_server: VirtualServer, duration_s: int, concurrency: int
) -> BenchmarkRun:
    """Create a queued run; the task is sent once the transaction commits."""
    from workers.benchmarks import run_benchmark

    run = BenchmarkRun.objects.create(
        scenario=scenario,
        virtual_server=virtual_server,
        target_name=virtual_server.name,
        duration_s=duration_s,
        concurrency=concurrency,
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
    """The stored report (HTML) or results (JSON); raises `storage.ObjectNotFound`/`StorageError`."""
    key = run.report_key if kind == "report" else run.results_key
    if not key:
        raise storage.ObjectNotFound(f"benchmark run {run.pk} has no {kind}")
    return storage.get_bytes("reports", key)


# ---- the run (Celery worker) ---------------------------------------------------------------------------


def _claim(run_id: int) -> bool:
    claimed = BenchmarkRun.objects.filter(pk=run_id, status=RunStatus.QUEUED, cancel_requested=False).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), progress=0, message="starting"
    )
    return claimed == 1


def _progress(run_id: int, percent: int, message: str) -> None:
    BenchmarkRun.objects.filter(pk=run_id).update(progress=min(100, max(0, percent)), message=message[:300])


def _cancel_requested(run_id: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return BenchmarkRun.objects.filter(pk=run_id, cancel_requested=True).exists()
        finally:
            connection.close()  # called from the load's watcher thread: close that thread's connection

    return check


def _loopback(address: str) -> bool:
    return address.startswith("127.") or address == "localhost"


def target_of(vs: VirtualServer) -> tuple[str, list[Server], dict[str, Any]]:
    """The virtual server's LB URL, its default upstream's enabled servers and the upstream's settings."""
    if not vs.http_ports:
        raise BenchmarkRefused(f"virtual server {vs.name} has no plain-HTTP port")
    if vs.default_upstream is None:
        raise BenchmarkRefused(f"virtual server {vs.name} has no default upstream")
    servers = list(vs.default_upstream.servers.filter(state="enabled").order_by("pk"))
    if not servers:
        raise BenchmarkRefused(f"upstream {vs.default_upstream.name} has no enabled server")
    upstream = {f: getattr(vs.default_upstream, f) for f in UPSTREAM_FIELDS}
    return f"http://127.0.0.1:{vs.http_ports[0]}/", servers, upstream


def execute(run_id: int) -> str:
    """Run a claimed benchmark to its end; returns the final status."""
    if not _claim(run_id):
        return "skipped"
    run = BenchmarkRun.objects.select_related("virtual_server__default_upstream").get(pk=run_id)
    from loadtests.load import LoadCancelled

    try:
        if run.virtual_server is None:
            raise BenchmarkRefused("the target virtual server was deleted")
        report = _run_scenario(run)
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


def _run_scenario(run: BenchmarkRun):
    from loadtests.load import Sample

    assert run.virtual_server is not None
    url, servers, upstream = target_of(run.virtual_server)
    started = timezone.now()

    def on_sample(sample: Sample) -> None:
        elapsed = (timezone.now() - started).total_seconds()
        percent = int(elapsed / run.duration_s * 100)
        _progress(
            run.pk,
            min(percent, 99),
            f"{min(elapsed, run.duration_s):.0f} s of {run.duration_s} s; {sample.target}: "
            f"{sample.requests_per_s:.0f} req/s, {sample.error_count} errors",
        )

    cancel = _cancel_requested(run.pk)
    _progress(run.pk, 0, f"load on {url}")
    if run.scenario == Scenario.THROUGHPUT:
        return _throughput(run, url, servers, upstream, on_sample, cancel)
    if run.scenario == Scenario.FAILOVER:
        return _failover(run, url, servers, on_sample, cancel)
    return _latency(run, url, on_sample, cancel)


def _throughput(run, url, servers, upstream, on_sample, cancel):
    from loadtests import throughput
    from loadtests.peers import PeerServer

    if not all(_loopback(s.address) for s in servers):
        raise BenchmarkRefused("throughput compares against the servers directly: they must be on loopback")
    peers = [PeerServer(s.address, s.port, s.weight, s.backup) for s in servers]
    report = throughput.measure(url, peers, upstream, run.duration_s, run.concurrency, on_sample, cancel)
    report.config["virtual_server"] = run.target_name
    return report


def _latency(run, url, on_sample, cancel):
    from loadtests.load import Load
    from loadtests.report import Report, machine_info

    load = Load({"lb": [url]}, run.concurrency)
    load.run(run.duration_s, on_sample=on_sample, should_cancel=cancel)
    summary = load.summaries()["lb"]
    latency = summary["latency_ms"]
    figures = {
        "latency.requests_per_s": summary["requests_per_s"],
        **{f"latency.{p}_ms": v for p, v in latency.items()},
        "latency.errors": summary["error_count"],
    }
    return Report(
        scenario="latency",
        title=f"Steady load through virtual server {run.target_name}",
        figures=figures,
        config={
            "url": url,
            "seconds": run.duration_s,
            "connections": run.concurrency,
            "virtual_server": run.target_name,
        },
        samples=load.samples,
        summaries={"lb": summary},
        machine=machine_info(),
    )


def _failover(run, url, servers, on_sample, cancel):
    from loadtests import failover

    victim_server = next((s for s in servers if _loopback(s.address) and not s.backup), None)
    if victim_server is None:
        raise BenchmarkRefused("failover needs a primary server on loopback")
    pids = [pid for pid in listening_pids(victim_server.port) if pid not in _own_tree()]
    if not pids:
        raise BenchmarkRefused(f"no process of ours listens on port {victim_server.port}")
    refusal = _appliance_service(victim_server.port, pids)
    if refusal:
        raise BenchmarkRefused(f"failover will not freeze {refusal} (port {victim_server.port})")

    def signal_all(sig: signal.Signals) -> Callable[[], None]:
        def send() -> None:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)

        return send

    victim = failover.Victim(
        victim_server.pk,
        f"server {victim_server.address}:{victim_server.port} (SIGSTOP)",
        signal_all(signal.SIGSTOP),
        signal_all(signal.SIGCONT),
    )
    status_urls = list(DataPlaneNode.objects.active().values_list("status_url", flat=True))
    config = {"virtual_server": run.target_name, "frozen_pids": pids}
    return failover.measure(
        url, victim, status_urls, run.duration_s, run.concurrency, config, on_sample, cancel
    )


# Processes of the appliance itself, by command line: an operator may point a server at any loopback
# port, but a failover run must never freeze the database, Redis, object storage, nginx or our own workers.
_OWN_SERVICES = ("postgres", "redis-server", "weed", "nginx", "celery", "appliance.wsgi", "gunicorn: master")


def _appliance_service(port: int, pids: list[int]) -> str:
    """What of the appliance's own listens on `port` (by port or by command line); "" if nothing."""
    from django.conf import settings

    ports = {
        int(settings.DATABASES["default"].get("PORT") or 5432),
        int(urlsplit(settings.CELERY_BROKER_URL).port or 6379),
        int(str(settings.LB_S3["endpoint"]).rsplit(":", 1)[-1] or 0),
    }
    for status_url in DataPlaneNode.objects.values_list("status_url", flat=True):
        ports.add(urlsplit(status_url).port or 0)
    for http_ports in VirtualServer.objects.values_list("http_ports", flat=True):
        ports.update(http_ports or [])
    if port in ports:
        return "a service of the appliance"
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found = next((name for name in _OWN_SERVICES if name in argv), "")
        if found:
            return f"the appliance's own {found} process {pid}"
    return ""


def _own_tree() -> set[int]:
    return {os.getpid(), os.getppid(), 1}


def listening_pids(port: int) -> list[int]:
    """Processes with a socket listening on TCP `port` (Linux /proc; IPv4 and IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            pids.append(int(proc.name))
    return sorted(pids)


def _store(run: BenchmarkRun, report) -> None:
    from loadtests.report import render_html

    results = report.results()
    results["run"] = {"id": run.pk, "created_by": run.created_by.get_username() if run.created_by else ""}
    prefix = f"benchmarks/{run.pk:06d}"
    storage.put_bytes(
        "reports", f"{prefix}/results.json", json.dumps(results, indent=2).encode(), "application/json"
    )
    storage.put_bytes(
        "reports", f"{prefix}/report.html", render_html(results).encode(), "text/html; charset=utf-8"
    )
    BenchmarkRun.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED,
        progress=100,
        message="done",
        figures=report.figures,
        report_key=f"{prefix}/report.html",
        results_key=f"{prefix}/results.json",
        finished_at=timezone.now(),
    )
