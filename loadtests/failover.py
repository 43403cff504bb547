"""Benchmark: a backend fails under steady load and comes back; what clients see and how long it takes.

Steady `wrk` load on the virtual server (one-second slices, `loadtests.load`). At 30 % of the run one
server of the upstream fails; at 60 % it comes back. The active health checks (`appliance.health`,
`workers.health`) mark it down and up; each mark makes a revision that takes it out of / back into the
nginx upstream. Events on the timeline: failed, marked down, out of rotation (the node serves the
revision without it), restored, marked up, back in rotation.

Figures: `failover.client_errors` (socket errors and non-2xx/3xx answers over the whole run),
`failover.detect_s` (failure → marked down by the health checker), `failover.out_of_rotation_s` (failure →
revision without it live), `failover.recover_s` (restored → marked up), `failover.back_in_rotation_s`,
`failover.p99_spike_ms` (worst one-second p99 after the failure minus the median p99 before it). A time
that was not reached within the run is -1.

From the command line the failure is a SIGKILL of a `loadtests.backend` process and the restore starts it
again (own stack, three backends, checks every second, fall 2 / rise 2); writes
`loadtests/out/failover.{html,results.json}` and `failover.json`.
Run: `.venv/bin/python -m loadtests.failover [--seconds 24]` (about 40 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.harness import LiveRevision, bench_stack
from loadtests.load import Load, Sample
from loadtests.report import Event, Report, machine_info

OUT = Path(__file__).resolve().parent / "out"
FAIL_AT, RESTORE_AT = 0.3, 0.6


@dataclass
class Victim:
    """How the scenario makes one server fail and come back."""

    server_id: int
    describe: str
    fail: Callable[[], None]
    restore: Callable[[], None]


class Timeline:
    """Drives the failure and watches health state and live revisions while the load runs."""

    def __init__(self, load: Load, victim: Victim, status_urls: list[str]) -> None:
        self.load, self.victim = load, victim
        self.live = LiveRevision(status_urls)
        self.events: list[Event] = []
        self.times: dict[str, float] = {}
        self.stopped = threading.Event()

    def mark(self, key: str, label: str, since: float | None = None) -> None:
        now = self.load.elapsed()
        self.events.append(Event(now, label))
        if since is not None:
            self.times[key] = round(now - since, 2)

    def _status(self) -> str:
        from appliance.health.models import HealthState

        state = HealthState.objects.filter(server_id=self.victim.server_id).values_list("status", flat=True)
        return state.first() or "unknown"

    def _watch(self, until: float, since: float, before: int, down: bool) -> None:
        """Poll until `until` (run seconds) for the mark and the revision change that follow an event."""
        status_key, rotation_key = (
            ("detect_s", "out_of_rotation_s") if down else ("recover_s", "back_in_rotation_s")
        )
        wanted = "unhealthy" if down else "healthy"
        while self.load.elapsed() < until and not self.stopped.is_set():
            if status_key not in self.times and self._status() == wanted:
                self.mark(status_key, "marked down" if down else "marked up", since)
            if status_key in self.times and self.live.read() > before:
                self.mark(rotation_key, "out of rotation" if down else "back in rotation", since)
                return
            time.sleep(0.05)

    def drive(self, seconds: float) -> None:
        failed = False
        try:
            self._sleep_until(seconds * FAIL_AT)
            before, since = self.live.read(), self.load.elapsed()
            self.victim.fail()
            failed = True
            self.mark("failed_at", f"{self.victim.describe} failed")
            self._watch(seconds * RESTORE_AT, since, before, down=True)
            self._sleep_until(seconds * RESTORE_AT)
            before, since = self.live.read(), self.load.elapsed()
            self.victim.restore()
            failed = False
            self.mark("restored_at", f"{self.victim.describe} restored")
            self._watch(seconds, since, before, down=False)
        finally:
            if failed:
                self.victim.restore()
            from django.db import connection

            connection.close()  # this thread's own connection

    def _sleep_until(self, t: float) -> None:
        while self.load.elapsed() < t and not self.stopped.is_set():
            time.sleep(0.05)


def spike_ms(samples: list[Sample], failed_at: float | None) -> float:
    if failed_at is None:
        return -1.0
    before = [s.latency_ms["p99"] for s in samples if s.t + s.duration_s <= failed_at and s.latency_ms]
    after = [s.latency_ms["p99"] for s in samples if s.t + s.duration_s > failed_at and s.latency_ms]
    if not before or not after:
        return -1.0
    return round(max(after) - statistics.median(before), 3)


def measure(
    url: str,
    victim: Victim,
    status_urls: list[str],
    seconds: int,
    connections: int,
    config: dict[str, Any],
    on_sample: Callable[[Sample], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Report:
    load = Load({"lb": [url]}, connections)
    timeline = Timeline(load, victim, status_urls)
    driver = threading.Thread(target=timeline.drive, args=(seconds,), daemon=True)
    driver.start()
    try:
        load.run(seconds, on_sample=on_sample, should_cancel=should_cancel)
    finally:
        timeline.stopped.set()
        driver.join(30)
    summary = load.summaries()["lb"]
    times = timeline.times
    figures = {
        "failover.client_errors": summary["error_count"],
        "failover.requests": summary["requests"],
        **{f"failover.{k}": times.get(k, -1.0) for k in ("detect_s", "out_of_rotation_s", "recover_s")},
        "failover.back_in_rotation_s": times.get("back_in_rotation_s", -1.0),
        "failover.p99_spike_ms": spike_ms(load.samples, next((e.t for e in timeline.events), None)),
    }
    return Report(
        scenario="failover",
        title="Failover: a backend fails under load and comes back",
        figures=figures,
        config={
            "url": url,
            "seconds": seconds,
            "connections": connections,
            "victim": victim.describe,
            **config,
        },
        samples=load.samples,
        summaries={"lb": summary},
        events=timeline.events,
        machine=machine_info(),
    )


def _restart(backend: Any) -> None:
    backend.start()


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=24)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with bench_stack() as stack:
        from appliance.health.models import HealthCheck
        from appliance.lb import services
        from appliance.lb.models import Server, Upstream
        from loadtests.harness import wait_until
        from loadtests.scenario import Pool

        pool = Pool.create(stack, "failover", backends=3)
        upstream = Upstream.objects.get(name="failover")
        check = {"interval_s": 1, "timeout_ms": 500, "rise": 2, "fall": 2}
        HealthCheck.objects.create(upstream=upstream, **check)
        services.mark_changed("failover benchmark: health check", "bench")
        wait_until(
            lambda: Server.objects.filter(upstream=upstream, health__status="healthy").count() == 3,
            20,
            "healthy",
        )
        backend = pool.backends[0]
        server = Server.objects.get(upstream=upstream, port=backend.port)
        victim = Victim(
            server.pk, f"backend {backend.name} (SIGKILL)", backend.kill, lambda: _restart(backend)
        )
        status = [node.status_url for node in stack.nodes]
        report = measure(pool.url, victim, status, args.seconds, args.connections, {"health_check": check})
    report.write(OUT, "failover")
    (OUT / "failover.json").write_text(json.dumps(report.figures, indent=2) + "\n")
    for name, value in report.figures.items():
        print(f"{name:32} {value}")
    return report.figures


if __name__ == "__main__":
    main()
