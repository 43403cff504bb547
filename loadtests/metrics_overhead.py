"""Benchmark: what the data-plane metrics (Lua counters, `nginx.metrics`) cost on proxied requests.

One nginx node (the real compiled config, applied by the node applier) proxies to one nginx backend
that answers `return 200`; `wrk` drives it for a bounded time. The same snapshot is compiled with metrics
on and off and the two revisions are applied alternately in pairs (on/off, off/on, on/off, ...: linear
drift from other load on the machine cancels out), each run after a reload and a short warm-up:

    metrics.rps_on / metrics.rps_off          requests per second (median over the runs of each mode)
    metrics.p99_ms_on / metrics.p99_ms_off    99th percentile latency seen by wrk (median)
    metrics.overhead_pct                      throughput lost to metrics, in % of rps_off
    metrics.p99_overhead_pct                  p99 latency added by metrics, in % of p99_ms_off
    metrics.cpu_us_per_request_on / _off      CPU time of the node's nginx workers per request (median)
    metrics.cpu_overhead_pct                  CPU per request added by metrics, in % of _off

The overheads are medians of each pair's own overhead. The machine is shared (2 cores, other test
runs): throughput and latency move with whatever else runs, so the CPU time the node's workers spend
per request is reported too; it depends much less on that noise.

Run: `.venv/bin/python -m loadtests.metrics_overhead [--rounds 8] [--seconds 4]` (about two minutes);
writes `loadtests/out/metrics.json`. Needs nginx (with the Lua module) and wrk; no database.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from loadtests import wrk
from loadtests.harness import free_port, wait_until
from nginx import process
from nginx.applier import NodeApplier
from nginx.compiler import CompiledConfig, compile_config
from nginx.model import NodeParams, ServerSpec, Snapshot, UpstreamSpec, VirtualServerSpec

OUT = Path(__file__).resolve().parent / "out"
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_BACKEND_CONF = """\
pid logs/nginx.pid;
error_log logs/error.log warn;
worker_processes 1;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000;
    server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok"; }} }}
}}
"""


def p99_ms(wrk_output: str) -> float:
    """The 99 % line of `wrk --latency`, in milliseconds."""
    match = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", wrk_output, re.M)
    if match is None:
        raise ValueError("wrk printed no 99% latency line")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def overhead_pct(baseline: float, measured: float) -> float:
    """How much worse `measured` is than `baseline`, in % (positive = more cost)."""
    return round((baseline - measured) / baseline * 100, 2)


def workers_cpu_s(prefix: Path) -> float:
    """User + system CPU seconds used so far by the node's current nginx workers."""
    master = process.master_pid(prefix)
    total = 0
    for pid in process.worker_pids(master) if master else ():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def start_backend(prefix: Path, port: int) -> subprocess.Popen[bytes]:
    (prefix / "logs").mkdir(parents=True)
    (prefix / "main.conf").write_text(_BACKEND_CONF.format(port=port))
    proc = subprocess.Popen(
        process.nginx_command(prefix, process.NGINX_BIN, "main.conf", "-g", "daemon off;"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_until(lambda: _answers(f"http://127.0.0.1:{port}/"), 10, "the backend nginx")
    return proc


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def compiled_pair(backend_port: int, listen_port: int) -> dict[bool, CompiledConfig]:
    """The same snapshot compiled with metrics on (True) and off (False)."""
    upstream = UpstreamSpec(
        name="bench", algorithm="round_robin", servers=(ServerSpec("1", "127.0.0.1", backend_port),)
    )
    site = VirtualServerSpec(name="bench", hostnames=(), http_ports=(listen_port,), default_upstream="bench")
    snapshot = Snapshot.build([upstream], [site])
    return {enabled: compile_config(snapshot, metrics=enabled) for enabled in (True, False)}


Run = tuple[float, float, float]  # requests/s, p99 ms, worker CPU µs per request


def measure(prefix: Path, url: str, seconds: int, connections: int) -> Run:
    before = workers_cpu_s(prefix)
    result = wrk.finish(wrk.start(url, seconds=seconds, connections=connections), timeout=seconds + 30)
    used = workers_cpu_s(prefix) - before
    if result.errors:
        raise RuntimeError(f"wrk saw {result.errors} errors:\n{result.raw}")
    return result.requests_per_s, p99_ms(result.raw), used / result.requests * 1e6


def run_modes(
    applier: NodeApplier, configs: dict[bool, CompiledConfig], url: str, args: argparse.Namespace
) -> list[dict[bool, Run]]:
    """`args.rounds` pairs of runs (on/off, off/on, ...), each as {True: the on run, False: the off run}."""
    pairs: list[dict[bool, Run]] = []
    revision = 0
    for n in range(args.rounds):
        pair: dict[bool, Run] = {}
        for enabled in (True, False) if n % 2 == 0 else (False, True):
            revision += 1
            compiled = configs[enabled]
            applied = applier.apply(revision, compiled.files, compiled.checksum)
            assert applied.ok, applied.message
            time.sleep(1.0)  # old workers drain; new workers fill their caches and upstream keepalive
            measure(applier.prefix, url, 1, args.connections)
            pair[enabled] = run = measure(applier.prefix, url, args.seconds, args.connections)
            print(
                f"  metrics {'on ' if enabled else 'off'}  {run[0]:9.0f} req/s  p99 {run[1]:6.2f} ms  "
                f"{run[2]:6.2f} µs CPU/request",
                flush=True,
            )
        pairs.append(pair)
    return pairs


def figures(pairs: list[dict[bool, Run]]) -> dict[str, float]:
    """Medians per mode; overheads as the median of each pair's own overhead (the two runs of a pair
    are adjacent in time, so they share the machine's background load)."""

    def median(mode: bool, field: int) -> float:
        return statistics.median(pair[mode][field] for pair in pairs)

    def paired(field: int, sign: int) -> float:
        return statistics.median(sign * overhead_pct(pair[False][field], pair[True][field]) for pair in pairs)

    return {
        "metrics.rps_on": round(median(True, 0)),
        "metrics.rps_off": round(median(False, 0)),
        "metrics.p99_ms_on": round(median(True, 1), 2),
        "metrics.p99_ms_off": round(median(False, 1), 2),
        "metrics.overhead_pct": round(paired(0, 1), 2),
        "metrics.p99_overhead_pct": round(paired(1, -1), 2),
        "metrics.cpu_us_per_request_on": round(median(True, 2), 2),
        "metrics.cpu_us_per_request_off": round(median(False, 2), 2),
        "metrics.cpu_overhead_pct": round(paired(2, -1), 2),
    }


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=8, help="on/off pairs")
    parser.add_argument("--seconds", type=int, default=4, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with ExitStack() as cleanup:
        root = Path(tempfile.mkdtemp(prefix="lb-metrics-bench-", dir="/tmp"))
        root.chmod(0o755)  # nginx workers run as nobody when the master is root
        cleanup.callback(shutil.rmtree, root, True)
        backend_port, listen_port = free_port(), free_port()
        backend = start_backend(root / "backend", backend_port)
        cleanup.callback(_stop, backend)
        params = NodeParams(name="bench", bind_address="127.0.0.1", status_port=free_port())
        prefix = root / "node"
        process.bootstrap(prefix, params)
        node = process.start(prefix, params)
        cleanup.callback(process.stop, node)
        configs = compiled_pair(backend_port, listen_port)
        pairs = run_modes(NodeApplier(prefix, params), configs, f"http://127.0.0.1:{listen_port}/", args)
    out = figures(pairs)
    OUT.mkdir(exist_ok=True)
    (OUT / "metrics.json").write_text(json.dumps(out, indent=2) + "\n")
    for name, value in out.items():
        print(f"{name:28} {value}")
    return out


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGQUIT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
