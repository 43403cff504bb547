"""Benchmark: config applies (so nginx reloads) under steady load: change-to-live latency, failed requests
and the p99 change.

`measure` is shared by the command line and the `reload` runs started from the UI/API: steady `wrk` load in
one-second slices (`loadtests.load`) on a virtual server; the first 30 % of the run has no apply (the p99
baseline), then `applies` applies follow back to back, each timed from its database commit until every
node's status listener reports a newer revision; the load goes on until the last one is live (each waits
at most `APPLY_TIMEOUT_S`). What an apply is belongs to the caller:

- command line: a weight change of one server (`mark_changed` → compile task → revision → nodes), with a
  baseline measured in the same run: the data-plane apply alone (stage, `nginx -t`, swap, reload, verify)
  on a second nginx prefix, without database, Celery or compile;
- UI/API: `appliance.lb.services.redeploy`, the current configuration as a new revision (see
  `appliance.benchmarks.services`).

Figures: `apply.p50_ms`, `apply.p99_ms`, `reload.requests`, `reload.failed_requests` (socket errors and
non-2xx/3xx answers over the whole load), `reload.applies` (applies made live), `reload.p99_before_ms`,
`reload.p99_during_ms` and `reload.p99_change_ms` (during minus before).
Writes a report (`apply.html`, `apply.results.json`): throughput, latency and errors per second with the
applies marked, and each apply's latency.
Run: `.venv/bin/python -m loadtests.apply_latency [--changes 50]` (about a minute).
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from loadtests.harness import LiveRevision, bench_stack
from loadtests.load import Load, Sample, summarize
from loadtests.report import Event, Report, machine_info

OUT = Path(__file__).resolve().parent / "out"
BEFORE_SHARE = 0.3
APPLY_TIMEOUT_S = 15


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))] if ordered else -1.0


def baseline_apply_ms(stack, rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Apply-only cost: the node applier on its own nginx, alternating two compiled configs."""
    from appliance.launcher.services import NginxNode
    from loadtests.harness import free_port, node_revision, wait_until
    from nginx.applier import NodeApplier
    from nginx.compiler import compile_config
    from nginx.model import NodeParams, ServerSpec, Snapshot, UpstreamSpec, VirtualServerSpec

    node = NginxNode(stack.cfg, "baseline", "127.0.0.1", free_port())
    node.start()
    params = NodeParams(name="baseline", bind_address="127.0.0.1", status_port=node.params.status_port)
    applier, port, timings = NodeApplier(node.prefix, params), free_port(), []
    try:
        for n in range(1, rounds + 1):
            upstream = UpstreamSpec(
                name="b",
                algorithm="round_robin",
                servers=(ServerSpec(key="1", address="127.0.0.1", port=9, weight=n % 7 + 1),),
            )
            site = VirtualServerSpec(name="b", hostnames=(), http_ports=(port,), default_upstream="b")
            compiled = compile_config(Snapshot.build([upstream], [site]))
            # Same end point as the pipeline measurement: until the status listener serves revision n.
            with ThreadPoolExecutor(1) as pool:
                started = time.monotonic()
                pending = pool.submit(applier.apply, n, compiled.files, compiled.checksum)
                wait_until(lambda n=n: node_revision(node.status_url) == n, 15, f"baseline {n}", 0.005)
                timings.append((time.monotonic() - started) * 1000)
                assert pending.result().ok, pending.result().message
    finally:
        node.stop()
    return timings


class Applies:
    """Makes the applies one after another in a thread of its own, timing each until it is live."""

    def __init__(
        self, load: Load, status_urls: list[str], apply_once: Callable[[int], int | None], count: int
    ) -> None:
        self.load, self.apply_once, self.count = load, apply_once, count
        self.live = LiveRevision(status_urls)
        self.timings_ms: list[float] = []
        self.rows: list[dict[str, float]] = []
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.error: BaseException | None = None
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from django.db import connection

        from loadtests.harness import wait_until

        try:
            self.started_at = self.load.elapsed()
            for n in range(self.count):
                if self.stopped.is_set():
                    return
                before = wait_until(self.live.read, 5, "the nodes' revision", 0.005)
                t = self.load.elapsed()
                number = self.apply_once(n)
                committed = time.monotonic()
                # The revision carrying the apply if the caller knows it, else the next one.
                wanted = number if number is not None else before + 1
                wait_until(
                    lambda w=wanted: self.live.read() >= w,
                    APPLY_TIMEOUT_S,
                    f"apply {n + 1} live",
                    interval=0.005,
                )
                self.timings_ms.append((time.monotonic() - committed) * 1000)
                self.rows.append({"t": round(t, 3), "apply_ms": round(self.timings_ms[-1], 1)})
        except BaseException as exc:  # re-raised by `measure` in the load's thread
            self.error = exc
        finally:
            self.ended_at = self.load.elapsed()
            connection.close()  # this thread's own connection


def _p99(samples: list[Sample]) -> float:
    return float(summarize(samples)["latency_ms"]["p99"]) if samples else -1.0


def measure(
    url: str,
    status_urls: list[str],
    apply_once: Callable[[int], int | None],
    applies: int,
    seconds: int,
    connections: int,
    config: dict[str, Any],
    on_sample: Callable[[Sample], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Report:
    """`applies` calls of `apply_once(n)` under steady load on `url`; each commits one change and returns
    the number of the revision carrying it, if it knows it (else the next revision is waited for)."""
    load = Load({"lb": [url]}, connections)
    made = Applies(load, status_urls, apply_once, applies)
    before_s = max(1.0, seconds * BEFORE_SHARE)
    try:
        load.run(before_s, on_sample=on_sample, should_cancel=should_cancel)
        made.thread.start()
        load.run(
            seconds - before_s, on_sample=on_sample, should_cancel=should_cancel, busy=made.thread.is_alive
        )
    finally:
        made.stopped.set()
        if made.thread.is_alive():
            made.thread.join(APPLY_TIMEOUT_S + 5)
    if made.error is not None:
        raise made.error
    start, end = made.started_at or 0.0, made.ended_at or load.elapsed()
    before = [s for s in load.samples if s.t + s.duration_s <= start]
    during = [s for s in load.samples if s.t < end and s.t + s.duration_s > start]
    summary = load.summaries()["lb"]
    p99_before, p99_during = _p99(before), _p99(during)
    figures = {
        "apply.p50_ms": round(statistics.median(made.timings_ms), 1) if made.timings_ms else -1.0,
        "apply.p99_ms": round(percentile(made.timings_ms, 99), 1),
        "reload.requests": summary["requests"],
        "reload.failed_requests": summary["error_count"],
        "reload.applies": len(made.timings_ms),
        "reload.p99_before_ms": p99_before,
        "reload.p99_during_ms": p99_during,
        "reload.p99_change_ms": round(p99_during - p99_before, 3),
    }
    return Report(
        scenario="reload",
        title="Config applies (nginx reloads) under load",
        figures=figures,
        config={"url": url, "seconds": seconds, "connections": connections, "applies": applies, **config},
        samples=load.samples,
        summaries={"lb": summary},
        events=[Event(start, "applies start"), Event(end, f"{len(made.timings_ms)} applies live")],
        timeline=made.rows,
        timeline_charts=[("Apply to live (each apply at its start)", ["apply_ms"], "ms")],
        machine=machine_info(),
    )


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=50)
    args = parser.parse_args()
    with bench_stack() as stack:
        from django.db import transaction

        from appliance.lb import services
        from appliance.lb.models import Server
        from loadtests.scenario import Pool

        pool = Pool.create(stack, "bench", backends=3)
        baseline = baseline_apply_ms(stack, 20)
        port = pool.backends[0].port

        def change_weight(n: int) -> None:  # compiled by the worker: the revision's number is not known
            with transaction.atomic():
                # Weights 2..10: every change differs from the previous one and from the default weight 1.
                Server.objects.filter(port=port).update(weight=n % 9 + 2)
                services.mark_changed(f"bench change {n}", "bench")

        config = {
            "apply": "a weight change",
            "backends": 3,
            "baseline_apply_ms": [round(ms) for ms in baseline],
        }
        report = measure(pool.url, [stack.nodes[0].status_url], change_weight, args.changes, 10, 32, config)
    p50, p50_baseline = report.figures["apply.p50_ms"], statistics.median(baseline)
    report.figures["apply.baseline_p50_ms"] = round(p50_baseline, 1)
    report.figures["apply.p50_over_baseline"] = round(p50 / p50_baseline, 2)
    report.write(OUT, "apply")
    (OUT / "apply.json").write_text(json.dumps(report.figures, indent=2) + "\n")
    for name, value in report.figures.items():
        print(f"{name:28} {value}")
    return report.figures


if __name__ == "__main__":
    main()
