"""Claiming: cycles racing each other (and the beat-driven worker) check every due server exactly once."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from appliance.health import scheduling, services
from appliance.health.models import HealthCheck, HealthState, HealthTransition
from appliance.lb.models import Server, Upstream
from tests.health.conftest import health_hits
from tests.support.lb import wait_until

SERVERS = 24


def pool_of_one_backend(backend_port: int) -> list[int]:
    """SERVERS upstreams whose single server is the same backend; not due for an hour yet."""
    later = timezone.now() + timedelta(hours=1)
    ids = []
    with transaction.atomic():
        for i in range(SERVERS):
            upstream = Upstream.objects.create(name=f"race{i}")
            HealthCheck.objects.create(upstream=upstream, path="/__health", interval_s=3600, rise=1)
            server = Server.objects.create(upstream=upstream, address="127.0.0.1", port=backend_port)
            HealthState.objects.create(server=server, next_check_at=later)
            ids.append(server.pk)
    return ids


def race(target, threads: int) -> list:  # type: ignore[no-untyped-def]
    """Run `target` in `threads` threads released at the same instant; returns their results."""
    start = threading.Barrier(threads)
    results: list = [None] * threads

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = target()
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def test_two_racing_cycles_check_each_server_once(pools):
    backend = pools.backend("race")
    ids = pool_of_one_backend(backend.port)
    HealthState.objects.filter(server_id__in=ids).update(next_check_at=timezone.now())
    reports = race(services.run_cycle, 2)
    first, second = (set(r.claimed) & set(ids) for r in reports)
    assert not first & second
    assert all(r.transitions == 0 for r in reports if not r.claimed)  # the loser does nothing
    wait_until(
        lambda: HealthState.objects.filter(server_id__in=ids, status="healthy").count() == SERVERS, 10, "all"
    )
    assert health_hits(backend) == SERVERS  # one probe per server, whoever won each one
    assert set(
        HealthState.objects.filter(server_id__in=ids).values_list("consecutive_successes", flat=True)
    ) == {1}
    assert HealthTransition.objects.filter(server_id__in=ids).count() == SERVERS


def test_claims_are_disjoint_and_the_loser_gets_nothing(pools):
    backend = pools.backend("claim")
    ids = pool_of_one_backend(backend.port)
    HealthState.objects.filter(server_id__in=ids).update(next_check_at=timezone.now())
    claimed = race(lambda: scheduling.claim_due(uuid.uuid4()), 8)
    mine = [set(c) & set(ids) for c in claimed]
    assert sum(len(c) for c in mine) == len(set().union(*mine))  # pairwise disjoint
    late = scheduling.claim_due(uuid.uuid4())
    assert not set(late) & set(ids)  # everything due is held by someone already
