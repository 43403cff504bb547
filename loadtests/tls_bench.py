"""TLS benchmark: HTTPS keep-alive throughput (HTTP/1.1 and HTTP/2) and the rate of full new handshakes.

Starts its own stack (PostgreSQL, Redis, S3, one nginx node, workers) in a fresh state directory, builds
one HTTPS site through the services (self-signed EC P-256 certificate, TLS 1.2/1.3, two backends) and
drives it with `h2load` (Debian `nghttp2-client`) on loopback:

    tls.h1_keepalive_req_per_s   HTTP/1.1 over TLS, 32 keep-alive connections
    tls.h2_req_per_s             HTTP/2, 32 connections x 10 streams
    tls.handshakes_per_s         full TLS handshakes per second (`openssl s_time -new`, 4 clients)
    tls.resumed_handshakes_per_s new connections resuming a session (h2load, `Connection: close`)
    tls.plain_keepalive_req_per_s  the same site over plain HTTP/1.1, for the cost of TLS itself

Client and server share the machine's cores, so figures are lower bounds. Writes loadtests/out/tls.json
and a report (`tls.html`, `tls.results.json`: the figures, the load generators' settings, the machine).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from pathlib import Path

from loadtests.harness import bench_stack

OUT = Path(__file__).resolve().parent / "out"
HOST = "bench.tls.test"
_S_TIME_RE = re.compile(r"(\d+) connections in [0-9.]+s;")
_RATE_RE = re.compile(r"finished in [0-9.]+m?s, ([0-9.]+) req/s")
_DONE_RE = re.compile(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed")


def h2load(url: str, *args: str, timeout: float = 120) -> tuple[float, int, int]:
    """Run h2load against `url`: (req/s, succeeded, failed)."""
    argv = ["h2load", *args, url]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    rate, done = _RATE_RE.search(result.stdout), _DONE_RE.search(result.stdout)
    if result.returncode != 0 or rate is None or done is None:
        raise RuntimeError(f"h2load failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")
    return float(rate.group(1)), int(done.group(2)), int(done.group(3))


def build_site(stack, backends: int = 2):  # type: ignore[no-untyped-def]
    """An HTTPS site on free ports: (http_port, https_port)."""
    from django.db import transaction

    from appliance.lb import services as lb_services
    from appliance.lb.models import ConfigRevision, Server, Upstream, VirtualServer
    from appliance.tls import services
    from appliance.tls.models import TlsCertificate, VirtualServerTls
    from loadtests.harness import Backend, free_port, node_revision, wait_until

    started = [Backend(f"tls{i}", free_port(), stack.cfg.path("logs")).start() for i in range(backends)]
    stack.running.extend(started)
    http_port, https_port = free_port(), free_port()
    cert = services.generate_self_signed("bench", [HOST], "ec-p256", 30)
    with transaction.atomic():
        upstream = Upstream.objects.create(name="tlsbench")
        for backend in started:
            Server.objects.create(upstream=upstream, address="127.0.0.1", port=backend.port)
        # A catch-all site: its certificate is the port's default, so clients without SNI (s_time) get it.
        vs = VirtualServer.objects.create(
            name="tlsbench", hostnames=[], http_ports=[http_port], default_upstream=upstream
        )
        binding = VirtualServerTls.objects.create(virtual_server=vs, https_ports=[https_port])
        TlsCertificate.objects.create(binding=binding, certificate=cert, position=0)
        lb_services.mark_changed("TLS benchmark site", "bench")

    def live() -> bool:
        latest = ConfigRevision.objects.order_by("-number").first()
        if latest is not None and latest.status == "failed":
            raise RuntimeError(f"the benchmark site did not apply: {latest.error}")
        return bool(
            latest
            and latest.status == "applied"
            and node_revision(stack.nodes[0].status_url) == latest.number
        )

    wait_until(live, 60, "the TLS benchmark site to be live")
    return http_port, https_port


def full_handshakes_per_s(port: int, seconds: int, clients: int = 4) -> tuple[float, int]:
    """`openssl s_time -new` (a full handshake per connection, never resumed) in parallel clients."""
    argv = ["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new", "-time", str(seconds)]
    started = time.monotonic()
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for _ in range(clients)]
    outputs = [proc.communicate(timeout=seconds + 60)[0] for proc in procs]
    elapsed = time.monotonic() - started
    counts = [_S_TIME_RE.search(out) for out in outputs]
    if not all(counts):
        raise RuntimeError(f"openssl s_time failed: {outputs}")
    total = sum(int(m.group(1)) for m in counts if m)
    return total / elapsed, total


def measure(http_port: int, https_port: int, seconds: int) -> dict[str, float]:
    https, http = f"https://127.0.0.1:{https_port}/", f"http://127.0.0.1:{http_port}/"
    # Under 1000 requests per connection: nginx closes a connection after `keepalive_requests` (1000),
    # and h2load counts HTTP/2 streams in flight at that moment as errors instead of reconnecting.
    load = ["-t", "2", "-n", str(32 * 950)]
    h1, _, h1_failed = h2load(https, "--h1", "-c", "32", *load)
    h2, _, h2_failed = h2load(https, "-c", "32", "-m", "10", *load)
    plain, _, plain_failed = h2load(http, "--h1", "-c", "32", *load)
    # h2load resumes TLS sessions on reconnect: these are abbreviated handshakes.
    resumed, _, resumed_failed = h2load(
        https, "--h1", "-c", "16", "-t", "2", "-n", str(1000 * seconds), "-H", "Connection: close"
    )
    full, connections = full_handshakes_per_s(https_port, seconds)
    return {
        "tls.h1_keepalive_req_per_s": round(h1),
        "tls.h2_req_per_s": round(h2),
        "tls.plain_keepalive_req_per_s": round(plain),
        "tls.handshakes_per_s": round(full),
        "tls.handshake_connections": connections,
        "tls.resumed_handshakes_per_s": round(resumed),
        "tls.failed_requests": h1_failed + h2_failed + plain_failed + resumed_failed,
    }


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()

    with bench_stack() as stack:
        figures = measure(*build_site(stack), args.seconds)
    from loadtests.report import Report, machine_info

    settings = {
        "keepalive": "h2load -t 2 -c 32 -n 30400 (--h1 for HTTP/1.1, -m 10 streams for HTTP/2)",
        "resumed": f"h2load --h1 -c 16 -t 2 -n {1000 * args.seconds} -H 'Connection: close'",
        "full_handshakes": f"openssl s_time -new -time {args.seconds}, 4 clients",
        "certificate": "self-signed EC P-256",
        "protocols": "TLS 1.2 and 1.3",
    }
    Report("tls", "TLS throughput and handshakes", figures, settings, machine=machine_info()).write(
        OUT, "tls"
    )
    OUT.mkdir(exist_ok=True)
    (OUT / "tls.json").write_text(json.dumps(figures, indent=2) + "\n")
    for name, value in figures.items():
        print(f"{name:32} {value}")
    return figures


if __name__ == "__main__":
    main()
