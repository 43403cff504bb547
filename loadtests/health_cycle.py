"""Benchmark: health-check cycle time at scale.

500 servers in 50 upstreams (cheap backends: one asyncio process listening on 500 ports), HTTP checks
every 2 s. The cycle is timed in this process with every server due at once (no beat running), then
beat drives the cycles for a while and the oldest "last checked" time across all servers is sampled. The
failover timeline the checks drive (kill, detect, out of rotation, restart, recover) is
`loadtests.failover`'s.

Prints the figures and writes `loadtests/out/health.json`.
Run: `.venv/bin/python -m loadtests.health_cycle` (about a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

from loadtests.harness import bench_stack

OUT = Path(__file__).resolve().parent / "out"
UPSTREAMS, PER_UPSTREAM, INTERVAL_S = 50, 10, 2


class _Answer(asyncio.Protocol):
    """Answers one request per connection with 200 and closes (a protocol: cheaper than streams)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.seen = b""

    def data_received(self, data: bytes) -> None:
        self.seen += data
        if b"\r\n\r\n" in self.seen:
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            self.transport.close()


async def _serve_ports(count: int) -> None:
    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(_Answer, "127.0.0.1", 0, backlog=256) for _ in range(count)]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print(json.dumps(ports), flush=True)
    await asyncio.Event().wait()


def start_port_farm(count: int) -> tuple[subprocess.Popen[str], list[int]]:
    """A child process answering 200 on `count` loopback ports; returns it and the ports."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadtests.health_cycle", "--serve-ports", str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def create_fleet(ports: list[int]) -> list[int]:
    """UPSTREAMS upstreams of PER_UPSTREAM servers, each upstream with an HTTP check every INTERVAL_S."""
    from django.db import transaction

    from appliance.health.models import HealthCheck
    from appliance.lb import services
    from appliance.lb.models import Server, Upstream

    ids = []
    with transaction.atomic():
        for u in range(UPSTREAMS):
            upstream = Upstream.objects.create(name=f"fleet{u}")
            HealthCheck.objects.create(upstream=upstream, interval_s=INTERVAL_S, timeout_ms=1000)
            for port in ports[u * PER_UPSTREAM : (u + 1) * PER_UPSTREAM]:
                ids.append(Server.objects.create(upstream=upstream, address="127.0.0.1", port=port).pk)
        services.mark_changed("benchmark: health fleet", "bench")
    return ids


def time_cycles(server_ids: list[int], rounds: int) -> list[float]:
    """Seconds per cycle with every server due at once; each cycle must check all of them."""
    from django.utils import timezone

    from appliance.health import scheduling, services
    from appliance.health.models import HealthState

    scheduling.schedule()
    timings = []
    for _ in range(rounds):
        HealthState.objects.filter(server_id__in=server_ids).update(next_check_at=timezone.now())
        started = time.monotonic()
        report = services.run_cycle()
        timings.append(time.monotonic() - started)
        assert len(report.claimed) == len(server_ids), len(report.claimed)
    failing = HealthState.objects.filter(server_id__in=server_ids).exclude(last_result="ok").count()
    assert failing == 0, f"{failing} checks failed"
    return timings


def oldest_check_age_s(server_ids: list[int], seconds: float) -> float:
    """With beat driving the cycles: the largest (now - last check) seen over `seconds` of sampling."""
    from django.db.models import Min
    from django.utils import timezone

    from appliance.health.models import HealthState

    worst, deadline = 0.0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        oldest = HealthState.objects.filter(server_id__in=server_ids).aggregate(m=Min("last_checked_at"))["m"]
        worst = max(worst, (timezone.now() - oldest).total_seconds())
        time.sleep(0.25)
    return worst


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve-ports", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_ports:
        asyncio.run(_serve_ports(args.serve_ports))  # serves until the benchmark kills it
        return {}
    # The farm takes its 500 ports first: the stack's free ports are chosen after it, so they cannot clash.
    farm, ports = start_port_farm(UPSTREAMS * PER_UPSTREAM)
    try:
        figures = measure(ports, args.rounds)
    finally:
        farm.kill()
        farm.wait()
    OUT.mkdir(exist_ok=True)
    (OUT / "health.json").write_text(json.dumps(figures, indent=2) + "\n")
    for name, value in figures.items():
        print(f"{name:30} {value}")
    return figures


def measure(ports: list[int], rounds: int) -> dict[str, float]:
    """Start a private stack without beat, time the cycles, then let beat drive them; stop it."""
    with bench_stack(beat=False) as stack:
        logging.getLogger("appliance.health").setLevel(logging.WARNING)  # not 500 "unknown -> healthy" lines
        server_ids = create_fleet(ports)
        cycles = time_cycles(server_ids, rounds)
        stack.start_beat()
        time.sleep(2 * INTERVAL_S)
        oldest = oldest_check_age_s(server_ids, 10)
    return cycle_figures(cycles, oldest, len(server_ids))


def cycle_figures(cycles: list[float], oldest: float, servers: int) -> dict[str, float]:
    return {
        "health.servers": servers,
        "health.interval_s": INTERVAL_S,
        "health.cycle_s": round(statistics.median(cycles), 3),
        "health.cycle_max_s": round(max(cycles), 3),
        "health.cycle_over_interval": round(max(cycles) / INTERVAL_S, 3),
        "health.max_check_age_s": round(oldest, 2),
    }


if __name__ == "__main__":
    main()
