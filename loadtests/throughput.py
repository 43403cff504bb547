"""Benchmark: throughput and latency of the backends directly, through our LB and through HAProxy, in one run.

The targets take turns second by second (one-second `wrk` slices, same connections, same backends):
*direct* spreads the connections over the upstream's servers themselves, *lb* goes through the nginx data
plane's virtual server, *haproxy* through an HAProxy started here with an equivalent configuration
(`loadtests.peers`: same balancing, keep-alive, timeouts and retries, and the same per-request work: a
request ID, forwarded headers and a JSON access-log line), *haproxy_bare* through a second HAProxy that
only balances (no request ID, headers or log), for what those features cost. A first round of slices
warms every path up and is not counted.

Figures: `throughput.lb_over_direct`, `throughput.lb_over_haproxy` and `throughput.lb_over_haproxy_bare`
(ratios of requests/s), `latency.p99_added_ms` (LB p99 minus direct p99), requests/s and p50/p99 of each
target, and errors.
The command line run starts its own stack with two static nginx backends (so the balancers, not a Python
backend, are measured) and writes `loadtests/out/throughput.{html,results.json}` and `throughput.json`.

Run: `.venv/bin/python -m loadtests.throughput [--seconds 40] [--connections 64]` (about a minute).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from loadtests.harness import bench_stack, free_port
from loadtests.load import Load, Sample
from loadtests.peers import HaproxyPeer, NginxBackend, PeerServer, haproxy_config
from loadtests.report import Report, machine_info

OUT = Path(__file__).resolve().parent / "out"
TARGETS = ("direct", "lb", "haproxy", "haproxy_bare")
UPSTREAM_FIELDS = ("name", "algorithm", "keepalive", "connect_timeout_ms", "read_timeout_s", "retry_tries")


def figures_of(summaries: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    direct, lb, haproxy, bare = (summaries[name] for name in TARGETS)

    def ratio(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
        return round(a["requests_per_s"] / b["requests_per_s"], 3) if b["requests_per_s"] else 0.0

    figures: dict[str, float] = {
        "throughput.lb_over_direct": ratio(lb, direct),
        "throughput.lb_over_haproxy": ratio(lb, haproxy),
        "throughput.lb_over_haproxy_bare": ratio(lb, bare),
        "latency.p99_added_ms": round(lb["latency_ms"]["p99"] - direct["latency_ms"]["p99"], 3),
    }
    for name, s in zip(TARGETS, (direct, lb, haproxy, bare), strict=True):
        figures[f"throughput.{name}_rps"] = s["requests_per_s"]
        figures[f"latency.{name}_p50_ms"] = s["latency_ms"]["p50"]
        figures[f"latency.{name}_p99_ms"] = s["latency_ms"]["p99"]
        figures[f"throughput.{name}_errors"] = s["error_count"]
    return figures


def measure(
    lb_url: str,
    servers: Sequence[PeerServer],
    upstream: Mapping[str, Any],
    seconds: int,
    connections: int,
    on_sample: Callable[[Sample], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Report:
    """Run the comparison (the HAProxies started and stopped here); `seconds` is split between the targets."""
    primaries = [s for s in servers if not s.backup] or list(servers)
    direct = [f"http://{s.address}:{s.port}/" for s in primaries]
    peers: dict[str, HaproxyPeer] = {}
    try:
        for name, bare in (("haproxy", False), ("haproxy_bare", True)):
            port = free_port()
            config = haproxy_config(
                port,
                servers,
                algorithm=str(upstream.get("algorithm", "round_robin")),
                connect_timeout_ms=int(upstream.get("connect_timeout_ms", 1000)),
                read_timeout_s=int(upstream.get("read_timeout_s", 2)),
                retries=int(upstream.get("retry_tries", 3)),
                bare=bare,
            )
            peers[name] = HaproxyPeer(port, config).start()
        load = Load({"direct": direct, "lb": [lb_url], **{n: [p.url] for n, p in peers.items()}}, connections)
        for name in TARGETS:  # warm-up: connection pools, caches, CPU frequency; not counted
            load.slice(name)
        load.samples.clear()
        load.started = time.monotonic()
        # Whole rounds only: every target gets as many slices as the others, even in a short run.
        load.run(
            seconds,
            list(TARGETS),
            on_sample,
            should_cancel,
            busy=lambda: len(load.samples) % len(TARGETS) > 0,
        )
    finally:
        for peer in peers.values():
            peer.stop()
    summaries = load.summaries()
    return Report(
        scenario="throughput",
        title="Throughput and latency: direct vs our LB vs HAProxy",
        figures=figures_of(summaries),
        config={
            "seconds": seconds,
            "connections": connections,
            "slice_s": 1,
            "targets": {"direct": direct, "lb": lb_url, **{n: p.url for n, p in peers.items()}},
            "upstream": dict(upstream),
            "servers": [vars(s) for s in servers],
            "haproxy.cfg": peers["haproxy"].config,
            "haproxy_bare.cfg": peers["haproxy_bare"].config,
        },
        samples=load.samples,
        summaries=summaries,
        machine=machine_info(),
    )


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    backends = [NginxBackend(f"static{i}", free_port()) for i in range(2)]
    with bench_stack() as stack:
        from appliance.lb.models import Upstream
        from loadtests.scenario import publish_pool

        try:
            for backend in backends:
                backend.start()
            url = publish_pool(stack, "throughput", [b.port for b in backends])
            upstream = Upstream.objects.values(*UPSTREAM_FIELDS).get(name="throughput")
            servers = [PeerServer("127.0.0.1", b.port) for b in backends]
            report = measure(url, servers, upstream, args.seconds, args.connections)
        finally:
            for backend in backends:
                backend.stop()
    report.write(OUT, "throughput")
    (OUT / "throughput.json").write_text(json.dumps(report.figures, indent=2) + "\n")
    for name, value in report.figures.items():
        print(f"{name:32} {value}")
    return report.figures


if __name__ == "__main__":
    main()
