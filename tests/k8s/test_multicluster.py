"""One upstream fed from two clusters: both serve; losing one shifts all traffic to the other, 0 errors."""

from __future__ import annotations

import time
from collections import Counter

from appliance.k8s.models import Cluster, ServiceBinding
from appliance.lb.models import ConfigRevision
from tests.health.conftest import Load
from tests.k8s.conftest import servers, wait_servers
from tests.support.lb import wait_until

GRACE_S = 2


def test_losing_one_of_two_clusters_shifts_all_traffic_to_the_other_without_errors(k8s, pools):
    east = k8s.start("east", watched=["shop"], grace_s=GRACE_S)
    west = k8s.start("west", watched=["shop"], grace_s=GRACE_S)
    east.deploy("shop", "east-web", replicas=2)
    west.deploy("shop", "west-web", replicas=2)
    url = pools.pool("kmulti", [])
    east.bind("kmulti", "shop", "east-web")
    west.bind("kmulti", "shop", "west-web", weight=2)
    wait_servers("kmulti", 4)
    pools.wait()
    east_servers = east.ready_endpoints("shop", "east-web")
    with Load(url, threads=4) as load:
        time.sleep(1.5)
        both = Counter(load.results)
        lost_at = time.monotonic()
        east.lose()
        wait_until(lambda: servers("kmulti", "drain") == east_servers, 20, "east's servers drained")
        drained_after = time.monotonic() - lost_at
        pools.wait()
        mark = Counter(load.results)
        time.sleep(1.5)
    after = Counter(load.results) - mark
    assert load.errors == {}, load.results
    east_hits = sum(n for name, n in both.items() if name.startswith("east-web-"))
    west_hits = sum(n for name, n in both.items() if name.startswith("west-web-"))
    assert 0.55 < west_hits / (east_hits + west_hits) < 0.8, both  # west's binding has weight 2, east's 1
    assert sum(after.values()) > 50
    assert all(name.startswith("west-web-") for name in after), after
    assert drained_after <= GRACE_S + 5, drained_after
    assert Cluster.objects.get(name="east").status == "unreachable"
    assert "cluster unreachable" in ServiceBinding.objects.get(cluster__name="east").sync_detail
    assert "drained (cluster unreachable)" in ConfigRevision.objects.order_by("-number").first().cause
    assert Cluster.objects.get(name="west").status == "connected"
