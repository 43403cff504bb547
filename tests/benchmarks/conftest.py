"""Fixtures for benchmark-run tests: a real virtual server over real backends, and API actors per role."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.benchmarks.models import BenchmarkRun
from appliance.lb.models import VirtualServer
from tests.api.conftest import Actor, make_actor
from tests.integration.conftest import Pools, pools  # noqa: F401 - real backends and waiting for revisions
from tests.support.lb import wait_until


@pytest.fixture
def target(pools: Pools) -> VirtualServer:  # noqa: F811
    """A live virtual server whose default upstream has two loopback backends."""
    pools.pool("bench", [pools.backend("b0"), pools.backend("b1")])
    return VirtualServer.objects.get(name="vs-bench")


@pytest.fixture
def operator(transactional_db: None) -> Actor:
    return make_actor("operator")


@pytest.fixture
def viewer(transactional_db: None) -> Actor:
    return make_actor("viewer")


def wait_status(run_id: int, statuses: set[str], timeout: float) -> BenchmarkRun:
    def reached() -> BenchmarkRun | None:
        run = BenchmarkRun.objects.get(pk=run_id)
        return run if run.status in statuses else None

    return wait_until(reached, timeout, f"benchmark {run_id} to be {statuses}", interval=0.2)  # type: ignore[no-any-return]


def wrk_pids(port: int) -> list[int]:
    """`wrk` processes sending load to 127.0.0.1:`port`."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"wrk") and any(f"127.0.0.1:{port}/".encode() in a for a in argv):
            pids.append(int(proc.name))
    return pids
