"""Slow start: a recovered server's weight ramps up in steps, each step a (coalesced) revision."""

from __future__ import annotations

import re

from appliance.health.models import HealthState
from appliance.lb.models import ConfigRevision
from tests.health.conftest import check_on, restart, server_of, wait_status
from tests.support.lb import spread, wait_until


def weights(revision: ConfigRevision, ports: list[int]) -> tuple[int, ...]:
    text = revision.files["upstreams/hslow.conf"]
    found = {int(p): int(w) for p, w in re.findall(r"server 127\.0\.0\.1:(\d+) weight=(\d+)", text)}
    return tuple(found[p] for p in ports)


def test_recovered_server_ramps_from_a_quarter_to_full_weight(pools):
    a, b = pools.backend("slow-a"), pools.backend("slow-b")
    url = pools.pool("hslow", [a, b])
    check_on("hslow", slow_start_s=3)
    wait_status(a, "healthy", 10)
    a.kill()
    wait_status(a, "unhealthy", 10)
    restart(a)
    back = wait_status(a, "healthy", 10)
    wait_until(lambda: HealthState.objects.get(server=server_of(a)).ramp_step == 0, 10, "ramp over")
    pools.wait()
    after = ConfigRevision.objects.filter(created__gte=back.at).order_by("number")
    steps = [weights(r, [a.port, b.port]) for r in after]
    assert steps[0] == (1, 4), steps  # a quarter of b's share right after recovery
    assert steps[-1] == (1, 1), steps
    assert [w for w, _ in steps[:-1]] == sorted(w for w, _ in steps[:-1])  # only ever up
    assert set(spread(url, 100)) == {"slow-a", "slow-b"}
