"""Benchmark: autoscaling from load-balancer metrics, as a timeline.

`measure` is shared by the command line and the `autoscale` runs started from the UI/API. It offers a ramp
of GET load (steps of (seconds, requests/s)) to a virtual server whose upstream is fed by a Kubernetes
Deployment under a scaling policy, then stops, and records every second the offered load, the answered
rate, the Deployment's replica count, the servers taking traffic, the client-side p95 latency and the
errors, until the Deployment is back at its minimum (or a bound has passed).

The load comes from `hey` (Debian package), one process per second of the ramp (`hey -z 1s`), each started
on the second, so the offered rate does not bend when answers slow down, and each slice's summary gives
that second's answers by status, errors by kind and latency percentiles (hey's CSV output leaves failed
requests out). Every request uses a fresh connection (`-disable-keepalive`), as a browser would retry, so
reloads closing idle keep-alive connections are not counted as errors. hey's `-q` paces each of its
workers from the start of the slice, so a second's rate is workers times requests per worker, spread over the
first 95 % of the second.

Figures: `autoscale.scale_up_s` (the first ramp step above what the minimum replica count carries at the
policy's target → `min + max_step` servers taking traffic), `autoscale.scale_down_s` (load stopped → back to
the minimum), `autoscale.max_replicas`, `autoscale.requests`, `autoscale.errors` (non-2xx answers and
socket errors). A time not reached within the run is -1.

From the command line the simulated cluster of `make run` (kubesim) runs `loadtests.backend` replicas, each
answer taking `DELAY_MS`, as Deployment `web` behind an upstream, with the policy `POLICY`, and the ramp
`RAMP`. Writes `loadtests/out/autoscale.json` and a report (`autoscale.html`, `autoscale.results.json`: the
per-second rows as charts, with the ramp steps and replica changes marked).
Run: `.venv/bin/python -m loadtests.autoscale` (about 1.5 minutes).
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.harness import bench_stack
from loadtests.load import LoadCancelled
from loadtests.report import Event, Report, machine_info

OUT = Path(__file__).resolve().parent / "out"
DELAY_MS = 20
RAMP = [(5.0, 20.0), (5.0, 50.0), (30.0, 120.0)]  # (seconds, offered requests/s)
_STATUS_RE = re.compile(r"\[(\d{3})\]\s+(\d+) responses")
_ERROR_RE = re.compile(r"^\s+\[(\d+)\]\s", re.M)
_P95_RE = re.compile(r"95% in ([0-9.]+) secs")


@dataclass(frozen=True)
class Policy:
    """What the run needs to know of the scaling policy."""

    min_replicas: int
    max_replicas: int
    target_rps: float  # requests/s per ready replica
    max_step: int
    down_window_s: int

    @property
    def capacity_at_min(self) -> float:
        return self.min_replicas * self.target_rps

    @property
    def scaled_up_at(self) -> int:
        """Servers taking traffic that count as scaled up: one full step above the minimum."""
        return min(self.max_replicas, self.min_replicas + self.max_step)


POLICY = Policy(min_replicas=2, max_replicas=6, target_rps=15.0, max_step=2, down_window_s=10)


def get(host: str, port: int, path: str) -> int:
    """One GET on a fresh connection (a readiness probe, not load); the status, or 0 for a socket error."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


@dataclass
class Second:
    """What one `hey` slice saw."""

    offered: int = 0
    answered: int = 0
    errors: int = 0
    p95_ms: float | None = None


def parse_hey(out: str) -> Second:
    """A `hey` summary: answers by status (2xx answered, others errors), socket errors, p95."""
    answers, _, failures = out.partition("Error distribution:")
    statuses = {int(code): int(n) for code, n in _STATUS_RE.findall(answers)}
    socket_errors = sum(int(n) for n in _ERROR_RE.findall(failures))
    answered = sum(n for code, n in statuses.items() if 200 <= code < 300)
    p95 = _P95_RE.search(answers)
    return Second(
        offered=sum(statuses.values()) + socket_errors,
        answered=answered,
        errors=sum(statuses.values()) - answered + socket_errors,
        p95_ms=round(float(p95.group(1)) * 1000, 1) if p95 else None,
    )


def hey_argv(url: str, rate: float, workers: int) -> list[str]:
    """One second of `rate` requests/s: as many workers as needed (at most `workers`), each paced by `-q`
    so that its requests fall in the first 95 % of the second (its first one waits one interval)."""
    if not url.startswith("http://127."):
        raise ValueError("load is only ever sent to loopback addresses")
    per_worker = math.ceil(rate / workers)
    used = max(1, round(rate / per_worker))
    return [
        "hey",
        "-z",
        "1s",
        "-c",
        str(used),
        "-q",
        f"{per_worker / 0.95:.3f}",
        "-t",
        "10",
        "-disable-keepalive",
        url,
    ]


class Ramp:
    """GET load following `steps` of (seconds, requests/s): a `hey` slice started on every second."""

    def __init__(self, url: str, steps: list[tuple[float, float]], workers: int = 16) -> None:
        self.url, self.steps, self.workers = url, steps, workers
        self.seconds: dict[int, Second] = {}
        self.started = 0.0
        self._stop = threading.Event()
        self._running: list[tuple[int, subprocess.Popen[str]]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Ramp:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(15)  # the slices under way finish (hey's own -t 10 bounds each request)

    @property
    def duration_s(self) -> float:
        return sum(seconds for seconds, _ in self.steps)

    def rate_at(self, elapsed: float) -> float:
        for seconds, rate in self.steps:
            if elapsed < seconds:
                return rate
            elapsed -= seconds
        return 0.0

    def cancel(self) -> None:
        """Stop at once: the running slices are killed, their seconds are not counted."""
        self._stop.set()
        with self._lock:
            for _, proc in self._running:
                proc.kill()

    def _run(self) -> None:
        for second in range(math.ceil(self.duration_s)):
            if self._stop.wait(max(0.0, self.started + second - time.monotonic())):
                break
            rate = self.rate_at(second)
            with self._lock:
                if rate > 0:
                    argv = hey_argv(self.url, rate, self.workers)
                    self._running.append((second, subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)))
            self._reap(wait=False)
        self._reap(wait=True)

    def _reap(self, wait: bool) -> None:
        """Collect finished slices (a summary is a few hundred bytes: it never fills the pipe)."""
        with self._lock:
            running = list(self._running)
        for second, proc in running:
            if not wait and proc.poll() is None:
                continue
            try:
                out = proc.communicate(timeout=15)[0]
            except subprocess.TimeoutExpired:
                proc.kill()
                out = proc.communicate()[0]
            if proc.returncode == 0:
                self.seconds[second] = parse_hey(out)
            with self._lock:
                self._running.remove((second, proc))

    @property
    def requests(self) -> int:
        return sum(s.offered for s in self.seconds.values())

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.seconds.values())


def _setup(stack) -> tuple[Any, str]:  # type: ignore[no-untyped-def]
    """kubesim with Deployment `web`, an upstream bound to it, a scaling policy; (admin client, LB URL)."""
    from django.db import transaction
    from kubernetes import client, config

    from appliance.k8s import kubeconfig, services
    from appliance.k8s.choices import Metric
    from appliance.k8s.models import Cluster, ScalingPolicy, ServiceBinding
    from appliance.lb import services as lb_services
    from appliance.lb.models import Upstream, VirtualServer
    from loadtests.harness import free_port

    sim = stack.start_kubesim()
    admin = config.new_client_from_config(config_file=str(sim.kubeconfig))
    core, apps = client.CoreV1Api(admin), client.AppsV1Api(admin)
    core.create_namespace({"metadata": {"name": "bench"}})
    argv = [sys.executable, "-m", "loadtests.backend", "{instance}", "{port}", "--delay-ms", str(DELAY_MS)]
    base = stack.cfg.ports.payment_base + 200
    annotations = {
        "kubesim.lb/command": json.dumps(argv),
        "kubesim.lb/port-range": f"{base}-{base + 49}",
        "kubesim.lb/readiness-path": "/__hits",
        "kubesim.lb/pre-stop-seconds": "1",
    }
    labels = {"app": "web"}
    template = {
        "metadata": {"labels": labels, "annotations": annotations},
        "spec": {"containers": [{"name": "web", "image": "kubesim.invalid/web:1"}]},
    }
    deployment = {
        "metadata": {"name": "web"},
        "spec": {"replicas": POLICY.min_replicas, "selector": {"matchLabels": labels}, "template": template},
    }
    apps.create_namespaced_deployment("bench", deployment)
    core.create_namespaced_service(
        "bench",
        {"metadata": {"name": "web"}, "spec": {"selector": labels, "ports": [{"name": "http", "port": 80}]}},
    )
    port = free_port()
    with transaction.atomic():
        cluster = Cluster.objects.create(name="bench")
        services.store_credentials(cluster, kubeconfig.parse(sim.kubeconfig.read_text()))
        upstream = Upstream.objects.create(name="bench")
        VirtualServer.objects.create(name="bench", http_ports=[port], default_upstream=upstream)
        binding = ServiceBinding.objects.create(
            upstream=upstream, cluster=cluster, namespace="bench", service="web", port_name="http"
        )
        ScalingPolicy.objects.create(
            binding=binding,
            deployment="web",
            metric=Metric.RPS_PER_REPLICA,
            target=POLICY.target_rps,
            min_replicas=POLICY.min_replicas,
            max_replicas=POLICY.max_replicas,
            max_step=POLICY.max_step,
            scale_down_window_s=POLICY.down_window_s,
            interval_s=1,
            metric_window_s=4,
        )
        lb_services.mark_changed("autoscale benchmark", "bench")
    return admin, f"http://127.0.0.1:{port}/"


def ramp_for(policy: Policy, seconds: int, workers: int) -> list[tuple[float, float]]:
    """A ramp over `seconds`: a fifth at 60 % of what the minimum carries at the target, then three times
    that (at most 19 requests/s per worker, so each worker's pace stays above one request per 50 ms)."""
    first = max(1, round(seconds / 5))
    high = min(3 * policy.capacity_at_min, 19.0 * workers)
    return [(float(first), 0.6 * policy.capacity_at_min), (float(seconds - first), high)]


def overload_starts_s(steps: list[tuple[float, float]], capacity: float) -> float | None:
    """When the offered load first exceeds `capacity` (what the minimum replica count carries)."""
    elapsed = 0.0
    for seconds, rate in steps:
        if rate > capacity:
            return elapsed
        elapsed += seconds
    return None


def _events(steps: list[tuple[float, float]], rows: list[dict[str, Any]]) -> list[Event]:
    """The ramp's steps, the end of the load and every change of the replica count, for the report."""
    events, start = [], 0.0
    for seconds, rate in steps:
        events.append(Event(start, f"offered {rate:g}/s"))
        start += seconds
    events.append(Event(start, "load stopped"))
    for before, row in itertools.pairwise(rows):
        if row["replicas"] != before["replicas"]:
            events.append(Event(float(row["t"]), f"replicas {before['replicas']} → {row['replicas']}"))
    return sorted(events, key=lambda e: e.t)


Observe = Callable[[], tuple[int, int]]  # () → (Deployment replicas, servers taking traffic)


def _wait_ready(url: str, policy: Policy, observe: Observe, timeout: float) -> None:
    from loadtests.harness import wait_until

    wait_until(
        lambda: observe() == (policy.min_replicas, policy.min_replicas),
        timeout,
        f"the Deployment at its minimum of {policy.min_replicas} replicas, all serving",
    )
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    wait_until(lambda: all(get(host, int(port), "/") == 200 for _ in range(5)), 30, "the upstream answering")


def _watch(
    ramp: Ramp,
    observe: Observe,
    until: Callable[[dict[str, Any]], bool],
    seconds: float,
    on_row: Callable[[dict[str, Any]], None] | None,
    should_cancel: Callable[[], bool] | None,
) -> tuple[list[dict[str, Any]], float | None]:
    """A row a second for up to `seconds`; stops early, with its time, at the first row `until` accepts."""
    rows, began = [], time.monotonic()
    while time.monotonic() - began < seconds:
        time.sleep(1 - (time.monotonic() - ramp.started) % 1)
        if should_cancel is not None and should_cancel():
            ramp.cancel()
            raise LoadCancelled()
        replicas, serving = observe()
        row = {"t": int(time.monotonic() - ramp.started) - 1, "replicas": replicas, "serving": serving}
        rows.append(row)
        if on_row:
            on_row(row)
        if until(row):
            return rows, time.monotonic() - ramp.started
    return rows, None


def measure(
    url: str,
    policy: Policy,
    steps: list[tuple[float, float]],
    observe: Observe,
    config: dict[str, Any],
    workers: int = 16,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Report:
    """Wait for the minimum, offer the ramp to `url`, then wait for the scale-down (its window + 30 s, at
    most 90 s); the timeline joins what `observe` saw with what each second's `hey` slice saw."""
    _wait_ready(url, policy, observe, 20)
    overload = overload_starts_s(steps, policy.capacity_at_min)
    with Ramp(url, steps, workers) as ramp:
        rows, up_at = _watch(
            ramp,
            observe,
            lambda r: r["serving"] >= policy.scaled_up_at,
            ramp.duration_s,
            on_row,
            should_cancel,
        )
        if up_at is not None:  # keep watching the rest of the ramp
            more, _ = _watch(ramp, observe, lambda r: False, ramp.duration_s - up_at, on_row, should_cancel)
            rows += more
    stopped = time.monotonic() - ramp.started
    at_min = (policy.min_replicas, policy.min_replicas)
    wait_s = min(90, policy.down_window_s + 30)
    more, down_at = _watch(
        ramp, observe, lambda r: (r["replicas"], r["serving"]) == at_min, wait_s, on_row, should_cancel
    )
    rows += more
    for row in rows:
        second = ramp.seconds.get(int(row["t"]), Second())
        row.update(
            offered=second.offered, answered=second.answered, p95_ms=second.p95_ms, errors=second.errors
        )
    scale_up_s = up_at - overload if up_at is not None and overload is not None else -1.0
    figures = {
        "autoscale.scale_up_s": round(scale_up_s, 1),
        "autoscale.scale_down_s": round(down_at - stopped, 1) if down_at is not None else -1.0,
        "autoscale.max_replicas": max(int(r["replicas"]) for r in rows),
        "autoscale.requests": ramp.requests,
        "autoscale.errors": ramp.errors,
    }
    return Report(
        scenario="autoscale",
        title="Autoscaling from load-balancer metrics",
        figures=figures,
        config={
            "url": url,
            "ramp": steps,
            "policy": vars(policy),
            "client": f"hey: a 1 s slice a second, at most {workers} workers, a fresh connection per request",
            **config,
        },
        events=_events(steps, rows),
        timeline=rows,
        timeline_charts=[
            ("Offered and answered load", ["offered", "answered"], "requests/s"),
            ("Replicas", ["replicas", "serving"], "count"),
            ("Latency p95", ["p95_ms"], "ms"),
            ("Errors", ["errors"], "errors/s"),
        ],
        machine=machine_info(),
    )


def _print(row: dict[str, Any]) -> None:
    p95 = "-" if row["p95_ms"] is None else f"{row['p95_ms']:.0f}"
    print(
        f"{row['t']:>4}s  offered {row['offered']:>4}/s  answered {row['answered']:>4}/s  "
        f"replicas {row['replicas']}  serving {row['serving']}  p95 {p95:>4} ms  errors {row['errors']}"
    )


def main() -> int:
    with bench_stack(k8s_watcher=True) as stack:
        from kubernetes import client

        from appliance.lb.models import Server

        admin, url = _setup(stack)
        apps = client.AppsV1Api(admin)

        def observe() -> tuple[int, int]:
            replicas = int(apps.read_namespaced_deployment_scale("web", "bench").spec.replicas)
            return replicas, Server.objects.filter(upstream__name="bench", state="enabled").count()

        report = measure(url, POLICY, RAMP, observe, {"delay_ms": DELAY_MS})
    for row in report.timeline:
        _print(row)
    report.write(OUT, "autoscale")
    figures = report.figures
    (OUT / "autoscale.json").write_text(json.dumps(figures, indent=2) + "\n")
    for name, value in figures.items():
        print(f"{name:28} {value}")
    return 0 if figures["autoscale.scale_up_s"] >= 0 and figures["autoscale.scale_down_s"] >= 0 else 1


if __name__ == "__main__":
    sys.exit(main())
