"""Shared by benchmarks and tests: a private stack, backend processes, free ports, a node's live revision."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.launcher.procs import Child

if TYPE_CHECKING:
    from appliance.launcher.stack import Stack

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def bench_stack(k8s_watcher: bool = False, beat: bool = True, data_plane: bool = True) -> Iterator[Stack]:
    """A private appliance for one benchmark process, stopped on exit.

    Fresh state dir and loopback ports (a running `make run` is never touched), Django set up, then
    PostgreSQL, Redis, S3 and, unless `data_plane=False` (the database alone is measured), one nginx node
    with its agent, the control worker, beat (or not yet: `beat=False`, then `stack.start_beat()` when the
    benchmark wants periodic tasks), and optionally the Kubernetes watcher. Import Django models only
    inside the block. The state dir is removed afterwards (`LB_KEEP_TEST_STATE=1` keeps it, with every
    service's log).
    """
    from appliance.launcher.config import StackConfig, isolated_environment

    state_dir = isolated_environment("lb-bench-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "appliance.settings"
    import django

    django.setup()
    from appliance.launcher.stack import Stack

    stack = Stack(StackConfig.from_env())
    try:
        stack.start_infra()
        if data_plane:
            stack.start_node("node1", "127.0.0.1", stack.cfg.ports.status)
            stack.start_control(web=False, beat=beat)
        if k8s_watcher:
            stack.start_k8s_watcher()
        yield stack
    finally:
        stack.stop()
        if not os.environ.get("LB_KEEP_TEST_STATE"):  # the figures and reports are in loadtests/out
            shutil.rmtree(state_dir, ignore_errors=True)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class Backend:
    """A `loadtests.backend` process: answers with its name, counts hits, can be SIGKILLed."""

    name: str
    port: int
    log_dir: Path
    delay_ms: int = 0
    health_status: int = 200
    child: Child | None = field(default=None, repr=False)

    def start(self) -> Backend:
        argv = [
            sys.executable,
            "-m",
            "loadtests.backend",
            self.name,
            str(self.port),
            "--delay-ms",
            str(self.delay_ms),
            "--health-status",
            str(self.health_status),
        ]
        self.child = Child(
            f"backend-{self.name}", argv, self.log_dir / f"backend-{self.name}.log", cwd=REPO
        ).start()
        self.child.wait_ready(lambda: self.hits() >= 0, 10, "answering")
        return self

    def hits(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__hits", timeout=2) as response:
            return int(response.read())

    def kill(self) -> None:
        assert self.child is not None
        self.child.proc.kill()  # type: ignore[union-attr]
        self.child.proc.wait()  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.child:
            self.child.stop()


def wait_until(check, timeout: float, what: str, interval: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def node_revision(status_url: str) -> int | None:
    try:
        with urllib.request.urlopen(status_url + "/revision", timeout=1) as response:
            return int(response.read().strip())
    except (OSError, ValueError):
        return None


class LiveRevision:
    """The revision every node serves: per node the highest number its status listener has answered,
    over all nodes the lowest of those.

    Right after a reload the old workers still accept on the status listener for some milliseconds, so
    a node answers the new number, then the old one, then the new one again: a plain reading can go
    backwards, and an apply timed from such a reading would look live before it is. A node that does
    not answer (its listener may refuse a connection during a reload) keeps its highest number.
    """

    def __init__(self, status_urls: list[str]) -> None:
        self.highest = dict.fromkeys(status_urls, 0)

    def read(self) -> int:
        for url, seen in self.highest.items():
            self.highest[url] = max(seen, node_revision(url) or 0)
        return min(self.highest.values(), default=0)
