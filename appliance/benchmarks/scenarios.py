"""The scenarios of benchmark runs, as the worker measures them against a virtual server of this appliance.

The load goes to its first HTTP port on 127.0.0.1 (`tls`: its first HTTPS port); *direct* and HAProxy
(throughput) use the servers of its default upstream, which must be loopback addresses too. Each scenario
shares its measuring code with the command line (`loadtests`):

- `throughput` — `loadtests.throughput`: direct vs our LB vs an equivalent HAProxy and a bare one,
  interleaved second by second;
- `latency` — steady load through the LB only;
- `failover` — `loadtests.failover`: one server of the default upstream stops answering (its processes
  are frozen with SIGSTOP, then resumed with SIGCONT: the appliance does not own them, so it never kills
  or restarts them), and the health checks' reaction is timed;
- `reload` — `loadtests.apply_latency`: steady load while the configuration is applied `applies` times.
  Each apply is `appliance.lb.services.redeploy`: the current desired state compiled into a new revision
  even though nothing changed (audited there as the revision's cause and author: "benchmark #N: apply i
  of n"). Every node applies it like any revision (stage, `nginx -t`, swap, reload, verify) because the
  new number is published on its status listener, so nginx really reloads, while the configuration, and
  so where every request goes, stays what the operator asked for;
- `tls` — `loadtests.tls_bench`: h2load over the first HTTPS port of the target's TLS binding (HTTP/1.1
  and HTTP/2 keep-alive, resumed handshakes) and `openssl s_time -new` (full handshakes);
- `autoscale` — `loadtests.autoscale`: a `hey` load ramp above what the minimum replica count carries at
  the target of the scaling policy of the Kubernetes binding that feeds the default upstream, then the
  wait for the scale-down; the replica count is read from the Deployment's scale with the cluster's
  stored credentials (the appliance's own rights include it: the scaler reads it too).

Progress goes to the run's row every second; `cancel_requested` is polled from the load's watcher thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.db import connection
from django.utils import timezone

from appliance.benchmarks.choices import Scenario
from appliance.benchmarks.models import BenchmarkRun
from appliance.benchmarks.services import BenchmarkRefused, https_ports, scaling_policy_of
from appliance.lb.models import DataPlaneNode, Server, VirtualServer

UPSTREAM_FIELDS = ("name", "algorithm", "keepalive", "connect_timeout_ms", "read_timeout_s", "retry_tries")


def progress(run_id: int, percent: int, message: str) -> None:
    BenchmarkRun.objects.filter(pk=run_id).update(progress=min(100, max(0, percent)), message=message[:300])


def cancel_requested(run_id: int) -> Callable[[], bool]:
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
    assert vs.default_upstream is not None  # checked by `run_errors`
    url = f"http://127.0.0.1:{vs.http_ports[0]}/" if vs.http_ports else ""
    servers = list(vs.default_upstream.servers.filter(state="enabled").order_by("pk"))
    if not servers:
        raise BenchmarkRefused(f"upstream {vs.default_upstream.name} has no enabled server")
    upstream = {f: getattr(vs.default_upstream, f) for f in UPSTREAM_FIELDS}
    return url, servers, upstream


def measure(run: BenchmarkRun):
    """Measure `run`'s scenario against its virtual server; the `loadtests.report.Report`."""
    from loadtests.load import Sample

    assert run.virtual_server is not None
    url, servers, upstream = target_of(run.virtual_server)
    started = timezone.now()

    def on_sample(sample: Sample) -> None:
        elapsed = (timezone.now() - started).total_seconds()
        percent = int(elapsed / run.duration_s * 100)
        progress(
            run.pk,
            min(percent, 99),
            f"{min(elapsed, run.duration_s):.0f} s of {run.duration_s} s; {sample.target}: "
            f"{sample.requests_per_s:.0f} req/s, {sample.error_count} errors",
        )

    cancel = cancel_requested(run.pk)
    if run.scenario == Scenario.TLS:
        return _tls(run, cancel)
    progress(run.pk, 0, f"load on {url}")
    if run.scenario == Scenario.THROUGHPUT:
        return _throughput(run, url, servers, upstream, on_sample, cancel)
    if run.scenario == Scenario.FAILOVER:
        return _failover(run, url, servers, on_sample, cancel)
    if run.scenario == Scenario.RELOAD:
        return _reload(run, url, on_sample, cancel)
    if run.scenario == Scenario.AUTOSCALE:
        return _autoscale(run, url, cancel)
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


def _reload(run, url, on_sample, cancel):
    from appliance.lb import services as lb_services
    from loadtests import apply_latency

    status_urls = list(DataPlaneNode.objects.active().values_list("status_url", flat=True))
    if not status_urls:
        raise BenchmarkRefused("no active data-plane node to reload")
    author = run.created_by.get_username() if run.created_by else "benchmark"

    def redeploy(n: int) -> int:
        cause = f"benchmark #{run.pk}: apply {n + 1} of {run.applies} (same configuration)"
        return lb_services.redeploy(cause, author).number

    config = {"virtual_server": run.target_name, "apply": "the current configuration as a new revision"}
    return apply_latency.measure(
        url, status_urls, redeploy, run.applies, run.duration_s, run.concurrency, config, on_sample, cancel
    )


def _tls(run, cancel):
    from loadtests import tls_bench

    vs = run.virtual_server
    port = https_ports(vs)[0]

    def on_phase(percent: int, what: str) -> None:
        progress(run.pk, percent, f"{what} on 127.0.0.1:{port}")

    http_port = vs.http_ports[0] if vs.http_ports else None
    report = tls_bench.measure(port, run.duration_s, run.concurrency, http_port, on_phase, cancel)
    report.config["virtual_server"] = run.target_name
    return report


def _autoscale(run, url, cancel):
    from kubernetes import client

    from appliance.k8s.services import api_for, binding_servers
    from loadtests import autoscale

    policy = scaling_policy_of(run.virtual_server)
    assert policy is not None  # checked by `run_errors`
    binding = policy.binding
    api = api_for(binding.cluster)
    apps = client.AppsV1Api(api)

    def observe() -> tuple[int, int]:
        scale = apps.read_namespaced_deployment_scale(policy.deployment, binding.namespace)
        return int(scale.spec.replicas), binding_servers(binding).filter(state="enabled").count()

    def on_row(row: dict[str, Any]) -> None:
        progress(
            run.pk,
            min(99, int(row["t"] / run.duration_s * 90)),
            f"{row['t']} s: {row['replicas']} replicas, {row['serving']} servers taking traffic",
        )

    shape = autoscale.Policy(
        policy.min_replicas, policy.max_replicas, policy.target, policy.max_step, policy.scale_down_window_s
    )
    steps = autoscale.ramp_for(shape, run.duration_s, run.concurrency)
    config = {
        "virtual_server": run.target_name,
        "deployment": f"{binding.cluster.name}/{binding.namespace}/{policy.deployment}",
    }
    progress(run.pk, 0, f"waiting for {policy.deployment} at {policy.min_replicas} replicas")
    try:
        return autoscale.measure(url, shape, steps, observe, config, run.concurrency, on_row, cancel)
    finally:
        api.close()


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
