"""Run `wrk` (Debian package) for a bounded time against a loopback URL and parse its summary."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class WrkResult:
    requests: int
    errors: int  # socket errors (connect/read/write/timeout) + non-2xx/3xx responses
    requests_per_s: float
    raw: str


def start(url: str, seconds: int, connections: int = 32, threads: int = 2) -> subprocess.Popen[str]:
    if not url.startswith("http://127."):
        raise ValueError("load is only ever sent to loopback addresses")
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen[str], timeout: float) -> WrkResult:
    out, _ = proc.communicate(timeout=timeout)
    return parse(out)


def parse(out: str) -> WrkResult:
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    socket_errors = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return WrkResult(requests, errors, rate, out)
