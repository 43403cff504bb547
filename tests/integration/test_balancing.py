"""Traffic through real nginx to real backends, measured at the backends."""

from __future__ import annotations

import threading
import time
from collections import Counter

from appliance.lb.models import Server
from tests.support.lb import get, spread


def test_weighted_round_robin_splits_3_1_1_within_3_points(pools):
    a, b, c = pools.backend("a"), pools.backend("b"), pools.backend("c")
    url = pools.pool("wrr", [a, b, c], weights=[3, 1, 1])
    seen = spread(url, 5000)
    counted = {name: backend.hits() for name, backend in (("a", a), ("b", b), ("c", c))}
    assert sum(counted.values()) == 5000 and sum(seen.values()) == 5000
    for name, expected in (("a", 60), ("b", 20), ("c", 20)):
        assert abs(100 * counted[name] / 5000 - expected) <= 3, counted


def test_least_conn_sends_fewer_requests_to_a_slow_backend(pools):
    fast, slow = pools.backend("fast"), pools.backend("slow", delay_ms=50)
    url = pools.pool("lc", [fast, slow], algorithm="least_conn")
    spread(url, 1200, threads=8)
    assert slow.hits() < fast.hits() / 3, (fast.hits(), slow.hits())


def test_ip_hash_keeps_each_client_address_on_one_backend(pools):
    backends = [pools.backend(f"ip{i}") for i in range(3)]
    url = pools.pool("iph", backends, algorithm="ip_hash")
    # ip_hash uses the first three octets of IPv4 clients, so clients differ in the third octet.
    chosen = {}
    for octet in range(1, 13):
        answers = {get(url, source=f"127.0.{octet}.1")[1] for _ in range(10)}
        assert len(answers) == 1, (octet, answers)
        chosen[octet] = answers.pop()
    assert len(set(chosen.values())) > 1


def test_hash_on_a_header_keeps_each_key_on_one_backend(pools):
    backends = [pools.backend(f"h{i}") for i in range(3)]
    url = pools.pool(
        "hh", backends, algorithm="hash", hash_key="header", hash_key_name="X-User", hash_consistent=True
    )
    chosen = {}
    for user in range(30):
        answers = {get(url, headers={"X-User": f"user-{user}"})[1] for _ in range(5)}
        assert len(answers) == 1, (user, answers)
        chosen[user] = answers.pop()
    assert len(set(chosen.values())) == 3


def test_random_two_least_conn_reaches_every_backend(pools):
    backends = [pools.backend(f"r{i}") for i in range(3)]
    url = pools.pool("r2", backends, algorithm="random_two_least_conn")
    seen = spread(url, 600)
    assert set(seen) == {"r0", "r1", "r2"}
    assert all(b.hits() > 100 for b in backends)


def test_backup_serves_only_when_every_primary_is_down(pools):
    p1, p2, spare = pools.backend("p1"), pools.backend("p2"), pools.backend("spare")
    url = pools.pool("bk", [p1, p2, spare], backup=[False, False, True])
    spread(url, 300)
    assert spare.hits() == 0
    p1.kill()
    p2.kill()
    seen = spread(url, 300)
    assert seen == Counter({"spare": 300})


def test_killing_a_backend_under_load_causes_no_client_errors(pools):
    backends = [pools.backend(f"k{i}") for i in range(3)]
    url = pools.pool("kill", backends)
    results: Counter[str] = Counter()
    stop = threading.Event()

    def load() -> None:
        deadline = time.monotonic() + 15  # bounded even if the test fails early
        while not stop.is_set() and time.monotonic() < deadline:
            results.update(spread(url, 50, threads=2))

    loaders = [threading.Thread(target=load) for _ in range(2)]
    for t in loaders:
        t.start()
    time.sleep(3)
    backends[0].kill()
    time.sleep(8)
    stop.set()
    for t in loaders:
        t.join()
    errors = {k: v for k, v in results.items() if not k.startswith("k")}
    assert sum(results.values()) > 1000
    assert errors == {}, errors
    assert Server.objects.count() == 3
