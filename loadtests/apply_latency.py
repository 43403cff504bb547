"""Benchmark: change-to-live latency (API/model change → new revision serving) under load.

50 weight changes are made one after another while `wrk` keeps a steady load on the virtual server;
each change is timed from the database commit until the node's status listener reports the new revision.
Baseline, measured in the same run: the data-plane apply alone (stage, `nginx -t`, swap, reload, verify)
on a second nginx prefix, without database, Celery or compile. Prints the figures and writes JSON.

Also writes a report (`apply.html`, `apply.results.json`): each change's latency over the run.
Run: `.venv/bin/python -m loadtests.apply_latency [--changes 50]` (about a minute).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from loadtests.harness import bench_stack

OUT = Path(__file__).resolve().parent / "out"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


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


def change_to_live_ms(stack, url_port: int, changes: int) -> list[float]:  # type: ignore[no-untyped-def]
    from django.db import transaction

    from appliance.lb import services
    from appliance.lb.models import Server
    from loadtests.harness import node_revision, wait_until

    status = stack.nodes[0].status_url
    timings = []
    for n in range(changes):
        before = node_revision(status) or 0
        with transaction.atomic():
            # Weights 2..10: every change differs from the previous one and from the default weight 1.
            Server.objects.filter(port=url_port).update(weight=n % 9 + 2)
            services.mark_changed(f"bench change {n}", "bench")
        started = time.monotonic()
        wait_until(lambda b=before: (node_revision(status) or 0) > b, 15, f"change {n} live", interval=0.005)
        timings.append((time.monotonic() - started) * 1000)
    return timings


def _report(figures: dict[str, float], timings: list[float], baseline: list[float], changes: int):  # type: ignore[no-untyped-def]
    from loadtests.report import Report, machine_info

    # Changes are made back to back, so each one starts when the previous one is live.
    starts = [sum(timings[:i]) / 1000 for i in range(len(timings))]
    return Report(
        scenario="reload",
        title="Change-to-live latency and reloads under load",
        figures=figures,
        config={
            "changes": changes,
            "wrk": "2 threads, 32 connections",
            "backends": 3,
            "baseline_rounds": 20,
            "baseline_apply_ms": [round(ms, 1) for ms in baseline],
        },
        timeline=[
            {"t": round(t, 3), "apply_ms": round(ms, 1)} for t, ms in zip(starts, timings, strict=True)
        ],
        timeline_charts=[("Change to live (x: seconds since the first change)", ["apply_ms"], "ms")],
        machine=machine_info(),
    )


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=50)
    args = parser.parse_args()
    from loadtests import wrk
    from loadtests.scenario import Pool

    with bench_stack() as stack:
        pool = Pool.create(stack, "bench", backends=3)
        baseline = baseline_apply_ms(stack, 20)
        load = wrk.start(pool.url, seconds=max(20, args.changes // 2 + 10))
        time.sleep(1)
        timings = change_to_live_ms(stack, pool.backends[0].port, args.changes)
        result = wrk.finish(load, timeout=120)
    figures = {
        "apply.p50_ms": round(statistics.median(timings), 1),
        "apply.p99_ms": round(percentile(timings, 99), 1),
        "apply.baseline_p50_ms": round(statistics.median(baseline), 1),
        "apply.p50_over_baseline": round(statistics.median(timings) / statistics.median(baseline), 2),
        "reload.requests": result.requests,
        "reload.failed_requests": result.errors,
    }
    _report(figures, timings, baseline, args.changes).write(OUT, "apply")
    OUT.mkdir(exist_ok=True)
    (OUT / "apply.json").write_text(json.dumps(figures, indent=2) + "\n")
    for name, value in figures.items():
        print(f"{name:28} {value}")
    return figures


if __name__ == "__main__":
    main()
