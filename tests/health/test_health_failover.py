"""Failover driven by active checks: dead, failing and hanging backends leave rotation and come back.

Timing bounds are the issue's: out within interval x fall + 1 s, back within interval x rise + 1 s
(interval 1 s, fall 2, rise 2), measured from the kill/restart to the recorded transition.
"""

from __future__ import annotations

import time

from appliance.lb.models import ConfigRevision, Upstream
from tests.health.conftest import (
    FAST,
    Load,
    backend_get,
    check_on,
    restart,
    seconds_since,
    server_of,
    wait_status,
)
from tests.support.lb import spread

OUT_BOUND_S = FAST["interval_s"] * FAST["fall"] + 1
BACK_BOUND_S = FAST["interval_s"] * FAST["rise"] + 1


def test_killed_backend_leaves_and_rejoins_rotation_without_client_errors(pools):
    backends = [pools.backend(f"k{i}") for i in range(3)]
    url = pools.pool("hkill", backends)
    check_on("hkill")
    for backend in backends:
        wait_status(backend, "healthy", 10)
    victim = backends[0]
    with Load(url) as load:
        time.sleep(1)
        killed_at = time.time()
        victim.kill()
        out = wait_status(victim, "unhealthy", 10)
        pools.wait()
        restarted_at = time.time()
        restart(victim)
        back = wait_status(victim, "healthy", 10)
        pools.wait()
        time.sleep(1)
    assert seconds_since(killed_at, out) <= OUT_BOUND_S, out.at
    assert out.reason == "connection_refused"
    assert seconds_since(restarted_at, back) <= BACK_BOUND_S, back.at
    assert load.errors == {}, load.results
    assert sum(load.results.values()) > 200
    assert victim.hits() > 0  # the restarted process (counting from zero) is served again
    causes = "\n".join(r.cause for r in ConfigRevision.objects.filter(author="health-checker"))
    assert f"hkill/127.0.0.1:{victim.port} healthy -> unhealthy (connection refused)" in causes, causes
    assert f"hkill/127.0.0.1:{victim.port} unhealthy -> healthy" in causes, causes


def test_backend_failing_its_health_path_gets_no_more_traffic(pools):
    good, bad = pools.backend("good"), pools.backend("bad", health_status=500)
    url = pools.pool("h500", [good, bad])
    spread(url, 100)
    assert bad.hits() > 0  # in rotation before any check ran
    check_on("h500", path="/__health")
    out = wait_status(bad, "unhealthy", 10)
    pools.wait()
    before = bad.hits()
    seen = spread(url, 300)
    assert out.reason == "http_status" and out.status_code == 500
    assert "HTTP 500, expected 200-399" in out.detail
    assert bad.hits() == before
    assert seen == {"good": 300}


def test_hanging_backend_costs_at_most_the_upstream_timeout_and_leaves_rotation(pools):
    backends = [pools.backend(f"hg{i}") for i in range(3)]
    url = pools.pool("hhang", backends)
    read_timeout_s = Upstream.objects.get(name="hhang").read_timeout_s
    assert read_timeout_s <= 2  # the model's default, not nginx's 60 s
    check_on("hhang", path="/__health")
    for backend in backends:
        wait_status(backend, "healthy", 10)
    frozen = backends[2]
    with Load(url, threads=6) as load:
        time.sleep(0.5)
        hung_at = time.time()
        backend_get(frozen, "/__hang")
        out = wait_status(frozen, "unhealthy", 10)
        pools.wait()
        arrived = frozen.hits()
        time.sleep(2)
    assert seconds_since(hung_at, out) <= OUT_BOUND_S, out.at
    assert out.reason == "timeout"
    assert load.errors == {}, load.results
    # Some client did wait for the hanging backend (so the bound below was exercised), none longer.
    assert read_timeout_s * 0.9 <= load.slowest_s <= read_timeout_s + 1, load.slowest_s
    assert frozen.hits() == arrived  # no request reaches it once it is out of rotation
    assert server_of(frozen).health.last_result == "timeout"
