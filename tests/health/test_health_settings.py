"""Check settings at work: a server's own check replaces its upstream's; a removed check gives it back."""

from __future__ import annotations

from appliance.health.models import HealthCheck
from tests.health.conftest import FAST, check_on, server_of, wait_status
from tests.support.lb import spread


def test_a_server_check_overrides_the_upstream_check(pools):
    good, odd = pools.backend("ov-good"), pools.backend("ov-odd", health_status=404)
    url = pools.pool("hoverride", [good, odd])
    check_on("hoverride", path="/__health")
    wait_status(odd, "unhealthy", 10)
    own = HealthCheck(server=server_of(odd), path="/status", **FAST)  # its app answers 200 there
    own.full_clean()
    own.save()
    back = wait_status(odd, "healthy", 10)
    pools.wait()
    assert back.reason == "ok"
    assert set(spread(url, 100)) == {"ov-good", "ov-odd"}


def test_disabling_the_check_puts_an_unhealthy_server_back_in_rotation(pools):
    good, bad = pools.backend("rm-good"), pools.backend("rm-bad", health_status=500)
    url = pools.pool("hremove", [good, bad])
    check = check_on("hremove", path="/__health")
    wait_status(bad, "unhealthy", 10)
    pools.wait()
    assert spread(url, 50) == {"rm-good": 50}
    check.enabled = False
    check.save()
    forgotten = wait_status(bad, "unknown", 10)
    pools.wait()
    assert (forgotten.from_status, forgotten.reason) == ("unhealthy", "check_removed")
    assert set(spread(url, 100)) == {"rm-good", "rm-bad"}
