"""Steady `wrk` load in one-second slices, so every second has its own throughput, percentiles and errors.

`wrk` reports only at the end of a run, so a timeline is a sequence of short runs: each slice is one `wrk`
process per URL (connections split between the URLs, all of them at once) with the Lua reporter
(`loadtests/lua/reporter.lua`), which prints totals, socket errors by kind, answers by status code and the
latency quantile function. Between slices the connections are re-opened (a few milliseconds), which costs
every target alike. Slices of several targets can be interleaved (`Load.run(..., targets)`), so a
side-by-side comparison sees the same machine at the same moments.

Overall percentiles merge the slices' quantile functions weighted by their request counts.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPORTER = Path(__file__).resolve().parent / "lua" / "reporter.lua"
ERROR_KINDS = ("connect", "read", "write", "timeout", "status")
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
_MARK = "WRK_REPORT "


class LoadCancelled(Exception):
    """The run was stopped from outside (`Load.cancel`) before it finished."""


@dataclass
class Sample:
    """One slice of one target: what `wrk` saw during `duration_s`, starting `t` seconds into the run."""

    target: str
    t: float
    duration_s: float
    requests: int = 0
    bytes: int = 0
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ERROR_KINDS, 0))
    statuses: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    quantiles_us: list[list[float]] = field(default_factory=list)

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def row(self) -> dict[str, object]:
        """The sample for the JSON results (without the raw quantile function)."""
        data = asdict(self)
        del data["quantiles_us"]
        data["requests_per_s"] = round(self.requests_per_s, 1)
        return data


def parse_report(out: str) -> dict[str, Any] | None:
    """The reporter's JSON line from `wrk` output; None if `wrk` never got to report (nothing listened)."""
    for line in out.splitlines():
        if line.startswith(_MARK):
            return json.loads(line[len(_MARK) :])
    return None


def _argv(url: str, seconds: int, connections: int, threads: int) -> list[str]:
    if not url.startswith("http://127."):
        raise ValueError("load is only ever sent to loopback addresses")
    threads = max(1, min(threads, connections))
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(REPORTER), url]


def weighted_percentile(parts: Iterable[tuple[int, list[list[float]]]], pct: float) -> float:
    """The `pct` percentile (µs) of several runs, each given as (requests, [[quantile, value µs], ...])."""
    masses: list[tuple[float, float]] = []
    for requests, quantiles in parts:
        previous = 0.0
        for q, value in quantiles:
            masses.append((value, requests * (q - previous) / 100))
            previous = q
    if not masses:
        return 0.0
    masses.sort()
    total, seen = sum(m for _, m in masses), 0.0
    for value, mass in masses:
        seen += mass
        if seen >= total * pct / 100 - 1e-9:
            return value
    return masses[-1][0]


def merge(
    target: str, t: float, duration_s: float, reports: list[dict[str, Any] | None], connections: int
) -> Sample:
    """One sample from the reports of the `wrk` processes of one slice (None: it could not connect)."""
    sample = Sample(target, round(t, 3), round(duration_s, 3))
    parts = []
    for report in reports:
        if report is None:
            sample.errors["connect"] += connections
            continue
        sample.requests += int(report["requests"])
        sample.bytes += int(report["bytes"])
        for kind, n in report["errors"].items():
            sample.errors[kind] += int(n)
        for code, n in report["statuses"].items():
            sample.statuses[code] = sample.statuses.get(code, 0) + int(n)
        if report["quantiles_us"]:
            parts.append((int(report["requests"]), report["quantiles_us"]))
    # wrk counts non-2xx/3xx answers among its "status" errors; they stay there, not in the socket kinds.
    sample.quantiles_us = [[q, weighted_percentile(parts, q)] for q in (*range(1, 100), 99.5, 99.9, 100)]
    if parts:
        sample.latency_ms = {f"p{p:g}": round(weighted_percentile(parts, p) / 1000, 3) for p in PERCENTILES}
        sample.latency_ms["max"] = round(max(int(r["latency_us"]["max"]) for r in reports if r) / 1000, 3)
    return sample


def summarize(samples: list[Sample]) -> dict[str, Any]:
    """Totals over a target's samples: req/s, percentiles (ms), errors by kind, statuses, transfer."""
    duration = sum(s.duration_s for s in samples)
    requests = sum(s.requests for s in samples)
    errors = {kind: sum(s.errors[kind] for s in samples) for kind in ERROR_KINDS}
    statuses: dict[str, int] = {}
    for s in samples:
        for code, n in s.statuses.items():
            statuses[code] = statuses.get(code, 0) + n
    parts = [(s.requests, s.quantiles_us) for s in samples if s.requests]
    return {
        "seconds": round(duration, 2),
        "requests": requests,
        "requests_per_s": round(requests / duration, 1) if duration else 0.0,
        "latency_ms": {f"p{p:g}": round(weighted_percentile(parts, p) / 1000, 3) for p in PERCENTILES},
        "errors": errors,
        "error_count": sum(errors.values()),
        "statuses": statuses,
        "transfer_mb_per_s": round(sum(s.bytes for s in samples) / duration / 1e6, 2) if duration else 0.0,
    }


class Load:
    """Runs slices against named targets (name → list of URLs) until a duration has passed or it is cancelled.

    `samples` grows as slices finish; `on_sample` is called after each one (progress, live checks).
    `cancel()` may be called from any thread: the running `wrk` processes are killed at once.
    """

    def __init__(self, targets: Mapping[str, list[str]], connections: int, threads: int = 2) -> None:
        self.targets = dict(targets)
        self.connections, self.threads = connections, threads
        self.samples: list[Sample] = []
        self.started = time.monotonic()
        self._procs: list[subprocess.Popen[str]] = []
        self._lock = threading.Lock()
        self._cancelled = threading.Event()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def cancel(self) -> None:
        self._cancelled.set()
        with self._lock:
            for proc in self._procs:
                proc.kill()

    def running_pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self._procs if p.poll() is None]

    def slice(self, name: str) -> Sample:
        urls = self.targets[name]
        per_url = max(1, self.connections // len(urls))
        threads = max(1, self.threads // len(urls))
        t = self.elapsed()
        with self._lock:
            if self._cancelled.is_set():
                raise LoadCancelled()
            self._procs = [
                subprocess.Popen(
                    _argv(url, 1, per_url, threads),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                for url in urls
            ]
        outputs = [proc.communicate(timeout=30)[0] for proc in self._procs]
        if self._cancelled.is_set():
            raise LoadCancelled()
        sample = merge(name, t, self.elapsed() - t, [parse_report(o) for o in outputs], per_url)
        self.samples.append(sample)
        return sample

    def run(
        self,
        seconds: float,
        order: list[str] | None = None,
        on_sample: Callable[[Sample], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        busy: Callable[[], bool] | None = None,
    ) -> list[Sample]:
        """Slices in round-robin over `order` (all targets by default) until `seconds` have passed, and
        after that for as long as `busy()` answers true (something measured under this load, which the
        caller bounds in time, has not finished yet).

        `should_cancel` is polled twice a second from a watcher thread; when it answers true the running
        `wrk` processes are killed and `LoadCancelled` is raised.
        """
        order = order or list(self.targets)
        deadline = self.elapsed() + seconds
        finished = threading.Event()
        if should_cancel is not None:
            threading.Thread(target=self._watch, args=(should_cancel, finished), daemon=True).start()
        try:
            i = 0
            while self.elapsed() < deadline - 0.5 or (busy is not None and busy()):
                sample = self.slice(order[i % len(order)])
                i += 1
                if on_sample:
                    on_sample(sample)
        finally:
            finished.set()
        return self.samples

    def _watch(self, should_cancel: Callable[[], bool], finished: threading.Event) -> None:
        while not finished.wait(0.5):
            if should_cancel():
                self.cancel()
                return

    def summaries(self) -> dict[str, dict[str, Any]]:
        return {name: summarize([s for s in self.samples if s.target == name]) for name in self.targets}
