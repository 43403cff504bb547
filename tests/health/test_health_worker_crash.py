"""Reliability: the control worker killed mid-cycle and Redis restarted; health converges afterwards and
no transition is recorded twice."""

from __future__ import annotations

import os
import signal
from itertools import pairwise

from appliance.health.models import HealthState, HealthTransition
from appliance.launcher.services import CeleryProcess, Redis
from tests.health.conftest import backend_get, check_on, restart, wait_status
from tests.support.lb import spread


def service(stack, kind: type, name: str | None = None):  # type: ignore[no-untyped-def]
    return next(s for s in stack.running if isinstance(s, kind) and (name is None or s.name == name))


def assert_history_is_a_chain(server_ids: list[int]) -> None:
    """Per server: seq 1..n without gaps or repeats, each transition starting where the last one ended."""
    for pk in server_ids:
        history = list(HealthTransition.objects.filter(server_id=pk).order_by("seq"))
        assert [t.seq for t in history] == list(range(1, len(history) + 1)), history
        assert HealthState.objects.get(server_id=pk).transition_count == len(history)
        for before, after in pairwise(history):
            assert after.from_status == before.to_status != after.to_status, (before, after)


def test_killed_worker_and_restarted_redis_leave_health_consistent(pools):
    stack = pools.stack
    worker, beat, redis = (
        service(stack, CeleryProcess, "worker"),
        service(stack, CeleryProcess, "beat"),
        service(stack, Redis),
    )
    backends = [pools.backend(f"cr{i}") for i in range(3)]
    url = pools.pool("hcrash", backends)
    check_on("hcrash", path="/__health")
    # A hanging server in another pool keeps every cycle busy for its whole timeout, so the kill lands
    # while checks are in flight and claims are held.
    stuck = pools.backend("cr-stuck")
    pools.pool("hstuck", [stuck])
    check_on("hstuck", path="/__health", timeout_ms=900)
    backend_get(stuck, "/__hang")
    for backend in backends:
        wait_status(backend, "healthy", 10)
    try:
        os.killpg(worker.child.pid, signal.SIGKILL)  # the worker and its pool processes, mid-cycle
        worker.child.proc.wait()
        redis.stop()
        redis.start()
        backends[1].kill()
        worker.start()
        if not beat.child.alive():
            beat.start()
        wait_status(backends[1], "unhealthy", 30)
        restart(backends[1])
        wait_status(backends[1], "healthy", 15)
        wait_status(stuck, "unhealthy", 15)
    finally:
        if not worker.child.alive():
            worker.start()
    pools.wait(30)
    assert set(spread(url, 150)) == {"cr0", "cr1", "cr2"}
    ids = list(HealthState.objects.values_list("server_id", flat=True))
    assert len(ids) == 4
    assert_history_is_a_chain(ids)
