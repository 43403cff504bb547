"""Processes a benchmark compares against or puts behind the load balancer: HAProxy and static nginx backends.

`HaproxyPeer` runs Debian's `haproxy` in the foreground with a configuration generated from an upstream's
settings, equivalent to what our compiler gives nginx: the same servers and weights (backup servers as
`backup`, disabled ones left out), the same balancing method, upstream keep-alive (`http-reuse always`),
the same connect/read timeouts and bounded retries on another server. By default it also does the
per-request work our data plane does: a request ID generated, sent upstream and returned (`X-Request-ID`),
`X-Forwarded-For/-Proto/-Host` set, and a JSON access-log line with the same fields as nginx's `lb_json`
(HAProxy writes it to its stdout, a file here: it has no buffered file log). `bare=True` leaves all that
out, for the cost of the features themselves. `NginxBackend` is an nginx prefix that answers every request
itself (`return 200`), so a throughput comparison measures the load balancers, not a Python backend.

Every process here starts in a session of its own, as the launcher starts the data plane's nginx: Linux's
autogroup scheduler shares the CPU between sessions first, so a balancer left in the benchmark's session
would share one group with the load generator and get a different share of the cores than ours (HAProxy
measured 58k req/s that way against 45k in its own session, same run).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HAPROXY_BALANCE = {"round_robin": "roundrobin", "least_conn": "leastconn", "ip_hash": "source"}


@dataclass(frozen=True)
class PeerServer:
    address: str
    port: int
    weight: int = 1
    backup: bool = False


def haproxy_config(
    port: int,
    servers: Sequence[PeerServer],
    algorithm: str = "round_robin",
    connect_timeout_ms: int = 1000,
    read_timeout_s: int = 2,
    retries: int = 3,
    bare: bool = False,
) -> str:
    """An HAProxy configuration equivalent to one upstream behind one plain-HTTP listener."""
    features = not bare
    lines = [
        "global",
        "    maxconn 8192",
        *(["    log stdout format raw local0"] if features else []),
        "defaults",
        *(["    log global", f"    log-format '{_JSON_LOG}'"] if features else []),
        "    mode http",
        "    option http-keep-alive",
        "    option redispatch",
        f"    retries {max(0, retries - 1)}",
        f"    timeout connect {connect_timeout_ms}ms",
        "    timeout client 65s",
        f"    timeout server {read_timeout_s}s",
        "    timeout http-keep-alive 65s",
        "frontend bench",
        f"    bind 127.0.0.1:{port}",
        *(_FRONTEND_FEATURES if features else []),
        "    default_backend pool",
        "backend pool",
        f"    balance {HAPROXY_BALANCE.get(algorithm, 'roundrobin')}",
        "    http-reuse always",
    ]
    for i, server in enumerate(servers):
        backup = " backup" if server.backup else ""
        lines.append(f"    server s{i} {server.address}:{server.port} weight {server.weight}{backup}")
    return "\n".join(lines) + "\n"


# The fields of nginx's `lb_json` access log, in HAProxy's log-format variables (HAProxy times the
# response headers, not the whole upstream response).
_JSON_LOG = (
    '{"time":"%t","request_id":"%ID","remote_addr":"%ci","host":"%[capture.req.hdr(0)]",'
    '"method":"%HM","uri":"%HU","status":%ST,"bytes_sent":%B,"request_time":%Ta,"server_port":%fp,'
    '"upstream":"%b","upstream_addr":"%si:%sp","upstream_connect_time":%Tc,'
    '"upstream_header_time":%Tr}'
)
_FRONTEND_FEATURES = [
    "    capture request header Host len 64",
    "    unique-id-format %{+X}o%ci%cp%fi%fp%Ts%rt%pid",
    "    unique-id-header X-Request-ID",
    "    http-after-response set-header X-Request-ID %[unique-id]",
    "    option forwardfor",
    "    http-request set-header X-Forwarded-Proto http",
    "    http-request set-header X-Forwarded-Host %[req.hdr(host)]",
]


def _wait_answering(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer on {url}")


@dataclass
class HaproxyPeer:
    port: int
    config: str
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lb-bench-haproxy-")))
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> HaproxyPeer:
        path = self.workdir / "haproxy.cfg"
        path.write_text(self.config)
        check = subprocess.run(["haproxy", "-c", "-q", "-f", str(path)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused its configuration: {check.stdout}{check.stderr}")
        log = (self.workdir / "haproxy.log").open("wb")
        self.proc = subprocess.Popen(
            ["haproxy", "-db", "-f", str(path)], stdout=log, stderr=log, start_new_session=True
        )
        _wait_answering(self.url, self.proc, "haproxy")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class NginxBackend:
    """nginx answering `200 <name>` on a loopback port, one worker (a backend, not the thing measured)."""

    name: str
    port: int
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lb-bench-nginx-")))
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> NginxBackend:
        temps = "".join(f"    {kind}_temp_path {self.workdir}/{kind};\n" for kind in _TEMPS)
        (self.workdir / "nginx.conf").write_text(
            f"worker_processes 1;\npid {self.workdir}/nginx.pid;\nerror_log {self.workdir}/error.log;\n"
            "events { worker_connections 4096; }\n"
            f"http {{\n    access_log off;\n{temps}    keepalive_requests 100000;\n"
            f"    server {{\n        listen 127.0.0.1:{self.port} reuseport;\n"
            f'        location / {{ default_type text/plain; return 200 "{self.name}\\n"; }}\n    }}\n}}\n'
        )
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(self.workdir), "-c", "nginx.conf", "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_answering(f"http://127.0.0.1:{self.port}/", self.proc, f"nginx backend {self.name}")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.workdir, ignore_errors=True)


_TEMPS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
