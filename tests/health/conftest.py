"""Health-check tests: real nginx, real backends, the real Celery worker and beat driving the cycles.

Helpers here configure checks through the model's own validation, poll the recorded health, and run a
bounded GET load on fresh connections (a fresh connection per request, as a browser would retry, so the
graceful reloads that take servers out of rotation are not counted as errors of the keep-alive client).
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field

from appliance.health.models import HealthCheck, HealthState, HealthTransition
from appliance.lb.models import Server, Upstream
from tests.integration.conftest import pools  # noqa: F401 - the shared fixture, re-exported
from tests.support.lb import Backend, get, wait_until

FAST = {"interval_s": 1, "timeout_ms": 500, "rise": 2, "fall": 2}


def check_on(upstream: str, **fields: object) -> HealthCheck:
    """An upstream's health check, validated like the API would (full_clean)."""
    check = HealthCheck(upstream=Upstream.objects.get(name=upstream), **{**FAST, **fields})
    check.full_clean()
    check.save()
    return check


def server_of(backend: Backend) -> Server:
    return Server.objects.get(port=backend.port)


def backend_get(backend: Backend, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{backend.port}{path}", timeout=2) as response:
        return str(response.read().decode())


def health_hits(backend: Backend) -> int:
    return int(backend_get(backend, "/__health_hits"))


def wait_status(backend: Backend, status: str, timeout: float) -> HealthTransition:
    """Wait until the backend's server is `status`; returns the transition that made it so."""
    server = server_of(backend)

    def reached() -> HealthTransition | None:
        state = HealthState.objects.filter(server=server).first()
        if state is None or state.status != status:
            return None
        return HealthTransition.objects.filter(server=server, to_status=status).order_by("-seq").first()

    return wait_until(reached, timeout, f"{backend.name} {status}", interval=0.05)


def seconds_since(started: float, transition: HealthTransition) -> float:
    """Seconds from the wall-clock time `started` to the moment the transition was recorded."""
    return transition.at.timestamp() - started


def restart(backend: Backend, **options: int) -> Backend:
    """Start a killed backend again on its own port (optionally with other options)."""
    for name, value in options.items():
        setattr(backend, name, value)
    return backend.start()


@dataclass
class Load:
    """Bounded GET load on fresh connections from a few threads; records statuses and latencies."""

    url: str
    threads: int = 4
    max_seconds: float = 60.0
    results: Counter[str] = field(default_factory=Counter)
    slowest_s: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Load:
        self._workers = [threading.Thread(target=self._run) for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join()

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                status, backend = get(self.url, timeout=10)
                outcome = backend if status == 200 else f"status {status}"
            except OSError as exc:
                outcome = f"error {type(exc).__name__}"
            elapsed = time.monotonic() - started
            with self._lock:
                self.results[outcome] += 1
                self.slowest_s = max(self.slowest_s, elapsed)

    @property
    def errors(self) -> dict[str, int]:
        return {k: v for k, v in self.results.items() if k.startswith(("status", "error"))}
