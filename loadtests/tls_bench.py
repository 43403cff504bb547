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
`measure` is shared with the `tls` runs started from the UI/API, against a virtual server's HTTPS port.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from loadtests.harness import bench_stack
from loadtests.load import LoadCancelled
from loadtests.report import Report, machine_info

OUT = Path(__file__).resolve().parent / "out"
HOST = "bench.tls.test"
_S_TIME_RE = re.compile(r"(\d+) connections in [0-9.]+s;")
_RATE_RE = re.compile(r"finished in [0-9.]+m?s, ([0-9.]+) req/s")
_DONE_RE = re.compile(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed")


def _run_all(argvs: list[list[str]], timeout: float, should_cancel: Callable[[], bool] | None) -> list[str]:
    """Run the commands at once; their outputs. A cancel (polled twice a second) kills them all."""
    procs = [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for a in argvs]
    deadline = time.monotonic() + timeout
    try:
        while any(p.poll() is None for p in procs):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{argvs[0][0]} did not finish within {timeout:.0f} s")
            if should_cancel is not None and should_cancel():
                raise LoadCancelled()
            time.sleep(0.5)
        return [p.communicate()[0] for p in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def h2load(
    url: str, *args: str, timeout: float = 120, should_cancel: Callable[[], bool] | None = None
) -> tuple[float, int, int]:
    """Run h2load against `url`: (req/s, succeeded, failed)."""
    if not url.startswith(("https://127.", "http://127.")):
        raise ValueError("load is only ever sent to loopback addresses")
    (out,) = _run_all([["h2load", *args, url]], timeout, should_cancel)
    rate, done = _RATE_RE.search(out), _DONE_RE.search(out)
    if rate is None or done is None:
        raise RuntimeError(f"h2load failed: {out[-2000:]}")
    return float(rate.group(1)), int(done.group(2)), int(done.group(3))


def build_site(stack, backends: int = 2):  # type: ignore[no-untyped-def]
    """An HTTPS site on free ports: (http_port, https_port)."""
    from django.db import transaction

    from appliance.lb import services as lb_services
    from appliance.lb.models import Server, Upstream, VirtualServer
    from appliance.tls import services
    from appliance.tls.models import TlsCertificate, VirtualServerTls
    from loadtests.harness import Backend, free_port
    from loadtests.scenario import wait_live

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

    wait_live(stack, 60, "the TLS benchmark site")
    return http_port, https_port


def full_handshakes_per_s(
    port: int, seconds: int, clients: int = 4, should_cancel: Callable[[], bool] | None = None
) -> tuple[float, int]:
    """`openssl s_time -new` (a full handshake per connection, never resumed) in parallel clients."""
    argv = ["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new", "-time", str(seconds)]
    started = time.monotonic()
    outputs = _run_all([argv] * clients, seconds + 60, should_cancel)
    elapsed = time.monotonic() - started
    counts = [_S_TIME_RE.search(out) for out in outputs]
    if not all(counts):
        raise RuntimeError(f"openssl s_time failed: {outputs}")
    total = sum(int(m.group(1)) for m in counts if m)
    return total / elapsed, total


def measure(
    https_port: int,
    seconds: int,
    connections: int = 32,
    http_port: int | None = None,
    on_phase: Callable[[int, str], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Report:
    """Keep-alive throughput over TLS (HTTP/1.1, HTTP/2), resumed and full handshakes on `https_port`.

    `connections` keep-alive connections make 950 requests each; the handshake phases last `seconds`.
    With `http_port` the same load over plain HTTP/1.1 gives the cost of TLS itself. `on_phase(percent,
    what)` reports progress; a cancel kills the running generator.
    """
    https = f"https://127.0.0.1:{https_port}/"
    threads = str(min(2, connections))
    # Under 1000 requests per connection: nginx closes a connection after `keepalive_requests` (1000),
    # and h2load counts HTTP/2 streams in flight at that moment as errors instead of reconnecting.
    load = ["-t", threads, "-c", str(connections), "-n", str(connections * 950)]
    resumers = min(16, connections)
    settings = {
        "keepalive": f"h2load {' '.join(load)} (--h1 for HTTP/1.1, -m 10 streams for HTTP/2)",
        "resumed": f"h2load --h1 -c {resumers} -t {threads} -n {1000 * seconds} -H 'Connection: close'",
        "full_handshakes": f"openssl s_time -new -time {seconds}, 4 clients",
        "https": https,
    }
    phase = on_phase or (lambda _percent, _what: None)
    phase(0, "HTTP/1.1 keep-alive over TLS")
    h1, _, h1_failed = h2load(https, "--h1", *load, should_cancel=should_cancel)
    phase(20, "HTTP/2 over TLS")
    h2, _, h2_failed = h2load(https, "-m", "10", *load, should_cancel=should_cancel)
    figures: dict[str, float] = {"tls.h1_keepalive_req_per_s": round(h1), "tls.h2_req_per_s": round(h2)}
    failed = h1_failed + h2_failed
    if http_port is not None:
        phase(40, "plain HTTP/1.1 keep-alive")
        plain, _, plain_failed = h2load(
            f"http://127.0.0.1:{http_port}/", "--h1", *load, should_cancel=should_cancel
        )
        figures["tls.plain_keepalive_req_per_s"] = round(plain)
        failed += plain_failed
    phase(50, "resumed handshakes")
    # h2load resumes TLS sessions on reconnect: these are abbreviated handshakes.
    resumed, _, resumed_failed = h2load(
        https,
        "--h1",
        *("-c", str(resumers), "-t", threads, "-n", str(1000 * seconds)),
        *("-H", "Connection: close"),
        should_cancel=should_cancel,
    )
    phase(70, "full handshakes")
    full, connections_made = full_handshakes_per_s(https_port, seconds, should_cancel=should_cancel)
    figures |= {
        "tls.handshakes_per_s": round(full),
        "tls.handshake_connections": connections_made,
        "tls.resumed_handshakes_per_s": round(resumed),
        "tls.failed_requests": failed + resumed_failed,
    }
    return Report("tls", "TLS throughput and handshakes", figures, settings, machine=machine_info())


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()

    with bench_stack() as stack:
        http_port, https_port = build_site(stack)
        report = measure(https_port, args.seconds, 32, http_port)
    report.config |= {"certificate": "self-signed EC P-256", "protocols": "TLS 1.2 and 1.3"}
    report.write(OUT, "tls")
    figures = report.figures
    OUT.mkdir(exist_ok=True)
    (OUT / "tls.json").write_text(json.dumps(figures, indent=2) + "\n")
    for name, value in figures.items():
        print(f"{name:32} {value}")
    return figures


if __name__ == "__main__":
    main()
