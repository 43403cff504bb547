"""Benchmark: autoscaling from load-balancer metrics, as a timeline.

The simulated cluster of `make run` (kubesim) runs `loadtests.backend` replicas, each answer taking
`DELAY_MS`, as Deployment `web` behind an upstream; a scaling policy targets `TARGET_RPS` requests/s per
ready replica (min 2, max 6, max step 2, scale-down stabilization `DOWN_WINDOW_S`). An open-loop generator
offers a ramp (`RAMP`), then stops. Every second the benchmark prints the offered load, the answered rate,
the Deployment's replica count, the servers taking traffic, the client-side p95 latency and the errors.

Figures: `autoscale.scale_up_s` (start of the ramp's top step → 4 or more servers taking traffic),
`autoscale.scale_down_s` (load stopped → back to the minimum), `autoscale.max_replicas`,
`autoscale.requests`, `autoscale.errors` (non-2xx and socket errors; every request uses a fresh
connection, as a browser would retry, so reloads closing idle keep-alive connections are not counted).
Writes `loadtests/out/autoscale.json` and a report (`autoscale.html`, `autoscale.results.json`: the
per-second rows as charts, with the ramp steps and replica changes marked).
Run: `.venv/bin/python -m loadtests.autoscale` (about 1.5 minutes).
"""

from __future__ import annotations

import http.client
import itertools
import json
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from loadtests.harness import bench_stack

OUT = Path(__file__).resolve().parent / "out"
DELAY_MS = 20
TARGET_RPS = 15.0
MIN_REPLICAS, MAX_REPLICAS, DOWN_WINDOW_S = 2, 6, 10
RAMP = [(5.0, 20.0), (5.0, 50.0), (30.0, 120.0)]  # (seconds, offered requests/s)


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def get(host: str, port: int, path: str) -> int:
    """One GET on a fresh connection; the status, or 0 for a socket error."""
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
    offered: int = 0
    answered: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)


@dataclass
class Ramp:
    """Open-loop GET load following `steps` of (seconds, requests/s); figures per second of the run."""

    url: str
    steps: list[tuple[float, float]]
    workers: int = 16
    seconds: dict[int, Second] = field(default_factory=lambda: defaultdict(Second))
    started: float = 0.0
    _cursor: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Ramp:
        self.started = self._cursor = time.monotonic()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(self.workers)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    @property
    def duration_s(self) -> float:
        return sum(seconds for seconds, _ in self.steps)

    def _rate_at(self, elapsed: float) -> float:
        for seconds, rate in self.steps:
            if elapsed < seconds:
                return rate
            elapsed -= seconds
        return 0.0

    def _next_slot(self) -> float | None:
        with self._lock:
            elapsed = self._cursor - self.started
            if elapsed >= self.duration_s:
                return None
            slot = self._cursor
            self._cursor += 1.0 / self._rate_at(elapsed)
            return slot

    def _run(self) -> None:
        host, port = self.url.split("//", 1)[1].split("/", 1)[0].split(":")
        while not self._stop.is_set():
            slot = self._next_slot()
            if slot is None:
                return
            time.sleep(max(0.0, slot - time.monotonic()))
            began = time.monotonic()
            status = get(host, int(port), "/")
            second = self.seconds[int(slot - self.started)]
            with self._lock:
                second.offered += 1
                if 200 <= status < 300:
                    second.answered += 1
                    second.latencies_ms.append((time.monotonic() - began) * 1000)
                else:
                    second.errors += 1

    @property
    def requests(self) -> int:
        return sum(s.offered for s in self.seconds.values())

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.seconds.values())


def _setup(stack) -> tuple[object, str]:  # type: ignore[no-untyped-def]
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
        "spec": {"replicas": MIN_REPLICAS, "selector": {"matchLabels": labels}, "template": template},
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
            target=TARGET_RPS,
            min_replicas=MIN_REPLICAS,
            max_replicas=MAX_REPLICAS,
            max_step=2,
            scale_down_window_s=DOWN_WINDOW_S,
            interval_s=1,
            metric_window_s=4,
        )
        lb_services.mark_changed("autoscale benchmark", "bench")
    return admin, f"http://127.0.0.1:{port}/"


def _overload_starts_s() -> float:
    """When the offered load first exceeds what the minimum replica count carries at the target."""
    elapsed = 0.0
    for seconds, rate in RAMP:
        if rate > MIN_REPLICAS * TARGET_RPS:
            return elapsed
        elapsed += seconds
    raise ValueError("the ramp never exceeds the minimum's capacity")


def _sample(apps, ramp: Ramp | None, second: int) -> dict[str, float | int | None]:  # type: ignore[no-untyped-def]
    from appliance.lb.models import Server

    figures = ramp.seconds.get(second, Second()) if ramp else Second()
    return {
        "t": second,
        "offered": figures.offered,
        "answered": figures.answered,
        "replicas": int(apps.read_namespaced_deployment_scale("web", "bench").spec.replicas),
        "serving": Server.objects.filter(upstream__name="bench", state="enabled").count(),
        "p95_ms": percentile(figures.latencies_ms, 95),
        "errors": figures.errors,
    }


def _print(row: dict[str, float | int | None]) -> None:
    p95 = "-" if row["p95_ms"] is None else f"{row['p95_ms']:.0f}"
    print(
        f"{row['t']:>4}s  offered {row['offered']:>4}/s  answered {row['answered']:>4}/s  "
        f"replicas {row['replicas']}  serving {row['serving']}  p95 {p95:>4} ms  errors {row['errors']}",
        flush=True,
    )


def _events(rows: list[dict[str, float | int | None]], ramp_s: float) -> list[tuple[float, str]]:
    """The ramp's steps, the end of the load and every change of the replica count, for the report."""
    events, start = [], 0.0
    for seconds, rate in RAMP:
        events.append((start, f"offered {rate:g}/s"))
        start += seconds
    events.append((ramp_s, "load stopped"))
    for before, row in itertools.pairwise(rows):
        if row["replicas"] != before["replicas"]:
            events.append((float(row["t"] or 0), f"replicas {before['replicas']} → {row['replicas']}"))
    return sorted(events)


def timeline(admin, url: str, rows: list | None = None) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from kubernetes import client

    from loadtests.harness import wait_until

    apps = client.AppsV1Api(admin)
    wait_until(lambda: _sample(apps, None, 0)["serving"] == MIN_REPLICAS, 60, "the first replicas serving")
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    wait_until(lambda: all(get(host, int(port), "/") == 200 for _ in range(5)), 30, "the upstream answering")
    rows = [] if rows is None else rows  # the caller's list, to draw the report from
    scale_up_s = None
    with Ramp(url, RAMP) as ramp:
        while time.monotonic() - ramp.started < ramp.duration_s:
            time.sleep(1 - (time.monotonic() - ramp.started) % 1)
            row = _sample(apps, ramp, int(time.monotonic() - ramp.started) - 1)
            rows.append(row)
            _print(row)
            if scale_up_s is None and int(row["serving"] or 0) >= 4:
                scale_up_s = time.monotonic() - ramp.started - _overload_starts_s()
    stopped, scale_down_s = time.monotonic(), None
    while scale_down_s is None and time.monotonic() - stopped < 90:
        time.sleep(1)
        row = _sample(apps, ramp, int(time.monotonic() - ramp.started) - 1)
        rows.append(row)
        _print(row)
        if row["replicas"] == MIN_REPLICAS and row["serving"] == MIN_REPLICAS:
            scale_down_s = time.monotonic() - stopped
    return {
        "autoscale.scale_up_s": round(scale_up_s, 1) if scale_up_s is not None else -1.0,
        "autoscale.scale_down_s": round(scale_down_s, 1) if scale_down_s is not None else -1.0,
        "autoscale.max_replicas": max(int(r["replicas"] or 0) for r in rows),
        "autoscale.requests": ramp.requests,
        "autoscale.errors": ramp.errors,
    }


def _report(figures: dict[str, float], rows: list[dict[str, float | int | None]]):  # type: ignore[no-untyped-def]
    from loadtests.report import Event, Report, machine_info

    ramp_s = sum(seconds for seconds, _ in RAMP)
    return Report(
        scenario="autoscale",
        title="Autoscaling from load-balancer metrics (simulated cluster)",
        figures=figures,
        config={
            "ramp": RAMP,
            "delay_ms": DELAY_MS,
            "target_rps_per_replica": TARGET_RPS,
            "min_replicas": MIN_REPLICAS,
            "max_replicas": MAX_REPLICAS,
            "scale_down_window_s": DOWN_WINDOW_S,
            "client": "open-loop generator, a fresh connection per request",
        },
        events=[Event(t, label) for t, label in _events(rows, ramp_s)],
        timeline=rows,
        timeline_charts=[
            ("Offered and answered load", ["offered", "answered"], "requests/s"),
            ("Replicas", ["replicas", "serving"], "count"),
            ("Latency p95", ["p95_ms"], "ms"),
            ("Errors", ["errors"], "errors/s"),
        ],
        machine=machine_info(),
    )


def main() -> int:
    with bench_stack(k8s_watcher=True) as stack:
        admin, url = _setup(stack)
        rows: list[dict[str, float | int | None]] = []
        figures = timeline(admin, url, rows)
    _report(figures, rows).write(OUT, "autoscale")
    OUT.mkdir(exist_ok=True)
    (OUT / "autoscale.json").write_text(json.dumps(figures, indent=2) + "\n")
    for name, value in figures.items():
        print(f"{name:28} {value}")
    return 0 if figures["autoscale.scale_up_s"] >= 0 and figures["autoscale.scale_down_s"] >= 0 else 1


if __name__ == "__main__":
    sys.exit(main())
