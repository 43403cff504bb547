"""One simulated pod: a local process on its own loopback port, probed for readiness.

This is where the simulation departs from a cluster on purpose. A pod on a real node has its
own IP and every replica listens on the same container port; here every replica is a process
on 127.0.0.1, so each gets a distinct port taken from the template's
``kubesim.lb/port-range``. The EndpointSlices therefore differ per replica in port, not in
address (see ``endpoints.py``).

Pod-template annotations read here:

- ``kubesim.lb/command``: JSON list, the argv (no shell); ``{port}``, ``{instance}`` (the
  synthetic pod name) and ``{namespace}`` are substituted in every element.
- ``kubesim.lb/port-range``: ``"LOW-HIGH"``, the ports replicas may take.
- ``kubesim.lb/readiness-path``: HTTP path probed every 0.5 s (2xx/3xx = ready); without it a
  replica is ready once its port accepts TCP connections.
- ``kubesim.lb/env``: JSON object of extra environment variables.
- ``kubesim.lb/pre-stop-seconds``: how long a terminating replica stays up (still serving,
  marked terminating) before it gets SIGTERM — the usual preStop sleep for load-balancer drain.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PROBE_INTERVAL = 0.5
MAX_GRACE_SECONDS = 10.0  # bounded even if a template asks for the default 30 s
MAX_RESTART_BACKOFF = 10.0


@dataclass(frozen=True)
class RunSpec:
    """How to run one replica of a pod template."""

    argv: tuple[str, ...]
    port_range: tuple[int, int]
    readiness_path: str | None
    env: dict[str, str] = field(default_factory=dict)
    pre_stop_seconds: float = 0.0
    grace_seconds: float = MAX_GRACE_SECONDS

    @classmethod
    def from_template(cls, template: dict) -> RunSpec | None:
        """The run spec of a pod template, or None when it has no ``kubesim.lb/command``."""
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        if "kubesim.lb/command" not in annotations:
            return None
        low, high = (int(p) for p in annotations["kubesim.lb/port-range"].split("-"))
        grace = (template.get("spec") or {}).get("terminationGracePeriodSeconds", MAX_GRACE_SECONDS)
        return cls(
            argv=tuple(json.loads(annotations["kubesim.lb/command"])),
            port_range=(low, high),
            readiness_path=annotations.get("kubesim.lb/readiness-path"),
            env=json.loads(annotations.get("kubesim.lb/env", "{}")),
            pre_stop_seconds=float(annotations.get("kubesim.lb/pre-stop-seconds", "0")),
            grace_seconds=min(float(grace), MAX_GRACE_SECONDS),
        )


class PortAllocator:
    """Hands out loopback ports that no replica holds and that nothing else is bound to."""

    def __init__(self) -> None:
        self._used: set[int] = set()
        self._lock = threading.Lock()

    def allocate(self, low: int, high: int) -> int | None:
        with self._lock:
            for port in range(low, high + 1):
                if port not in self._used and _port_is_free(port):
                    self._used.add(port)
                    return port
        return None

    def release(self, port: int) -> None:
        with self._lock:
            self._used.discard(port)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def process_start_ticks(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot; with the pid it identifies one process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


class Replica:
    """A simulated pod of one Deployment: identity, process, readiness and termination state."""

    def __init__(
        self,
        *,
        name: str,
        namespace: str,
        deployment_uid: str,
        template_hash: str,
        labels: dict[str, str],
        spec: RunSpec,
        port: int,
        log_dir: Path,
        on_change: Callable[[], None],
    ):
        self.name, self.namespace, self.uid = name, namespace, str(uuid.uuid4())
        self.deployment_uid, self.template_hash, self.labels = deployment_uid, template_hash, labels
        self.spec, self.port, self.on_change = spec, port, on_change
        self.log_path = log_dir / f"{namespace}_{name}.log"
        self.created = time.monotonic()
        self.process: subprocess.Popen | None = None
        self.ready = False
        self.terminating = False
        self.restarts = 0
        self._restart_at: float | None = None
        self._sigterm_at: float | None = None
        self._kill_at: float | None = None
        self._stop = threading.Event()
        self._probing = False

    # -- lifecycle ---------------------------------------------------------------------------
    def argv(self) -> list[str]:
        values = {"port": str(self.port), "instance": self.name, "namespace": self.namespace}
        out = []
        for arg in self.spec.argv:
            for key, value in values.items():
                arg = arg.replace("{" + key + "}", value)
            out.append(arg)
        return out

    def _environment(self) -> dict[str, str]:
        env = {**os.environ, **self.spec.env}
        env.update(
            KUBESIM_SIMULATED="1",
            KUBESIM_PORT=str(self.port),
            KUBESIM_POD_NAME=self.name,
            KUBESIM_POD_NAMESPACE=self.namespace,
        )
        env.setdefault("PYTHONUNBUFFERED", "1")  # so replica logs are readable while it runs
        return env

    def start(self) -> None:
        """Start (or restart) the process; a command that cannot start counts as a crash."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- kubesim: starting {self.name} on 127.0.0.1:{self.port}: {self.argv()}\n".encode())
            log.flush()
            try:
                # Own session: a Ctrl-C aimed at kubesim's terminal must not reach replicas directly;
                # kubesim stops them itself, by PID, with SIGTERM and a grace period.
                self.process = subprocess.Popen(
                    self.argv(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self._environment(),
                    start_new_session=True,
                )
            except OSError as exc:
                self.process = None
                log.write(f"--- kubesim: could not start: {exc}\n".encode())
        if not self._probing:
            self._probing = True
            threading.Thread(target=self._probe_loop, name=f"probe-{self.name}", daemon=True).start()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def finished(self) -> bool:
        """Terminated and exited: the pod is gone and its port can be reused."""
        return self.terminating and not self.alive

    def begin_termination(self, now: float, skip_pre_stop: bool = False) -> None:
        if skip_pre_stop:
            self._sigterm_at = min(self._sigterm_at or now, now)
        if self.terminating:
            return
        self.terminating = True
        self._sigterm_at = now if skip_pre_stop else now + self.spec.pre_stop_seconds

    def step(self, now: float) -> None:
        """Advance signals and restarts; called by the kubelet after it published endpoints."""
        if self.terminating:
            self._step_termination(now)
        elif not self.alive:
            self._step_crash(now)

    def _step_termination(self, now: float) -> None:
        if not self.alive:
            self._stop.set()
            return
        if self._kill_at is None and now >= (self._sigterm_at or now):
            self.process.terminate()
            self._kill_at = now + self.spec.grace_seconds
        elif self._kill_at is not None and now >= self._kill_at:
            self.process.kill()

    def _step_crash(self, now: float) -> None:
        # restartPolicy Always with a bounded exponential back-off, like CrashLoopBackOff.
        if self._restart_at is None:
            self.ready = False
            self.restarts += 1
            self._restart_at = now + min(MAX_RESTART_BACKOFF, 0.5 * 2 ** (self.restarts - 1))
            self.on_change()
        elif now >= self._restart_at:
            self._restart_at = None
            self.start()

    def force_stop(self) -> None:
        self._stop.set()
        if self.alive:
            self.process.kill()
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=2)

    # -- readiness ---------------------------------------------------------------------------
    def _probe_loop(self) -> None:
        # Ends when the replica is finished or the kubelet stops it (force_stop/_stop).
        while not self._stop.wait(PROBE_INTERVAL if self.ready else PROBE_INTERVAL / 2):
            ready = self.alive and self.probe()
            if ready != self.ready:
                self.ready = ready
                self.on_change()

    def probe(self) -> bool:
        if self.spec.readiness_path is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.4).close()
            except OSError:
                return False
            return True
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=0.4)
        try:
            conn.request("GET", self.spec.readiness_path, headers={"User-Agent": "kubesim-probe"})
            return 200 <= conn.getresponse().status < 400
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()
