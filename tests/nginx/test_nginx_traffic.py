"""What compiled configs do to real traffic: weights, backups, hashing, routes, headers, defaults."""

import json
import time

import pytest
from nginx_testkit import Client, free_port

from nginx.model import RouteSpec, ServerSpec, Snapshot, UpstreamSpec, VirtualServerSpec

pytestmark = pytest.mark.timeout(180)


def members(*backends, **per_server) -> tuple[ServerSpec, ...]:
    return tuple(
        ServerSpec(b.ident, "127.0.0.1", b.port, **{k: v[i] for k, v in per_server.items()})
        for i, b in enumerate(backends)
    )


def site(port: int, upstream: str | None = "web", hostnames=("shop.test",), name="shop", routes=()):
    return VirtualServerSpec(name, hostnames, (port,), upstream, routes=routes)


def test_weighted_round_robin_3_1_1_over_5000_requests(node, backends):
    a, b, c = backends("a"), backends("b"), backends("c")
    port = free_port()
    up = UpstreamSpec("web", "round_robin", servers=members(a, b, c, weight=[3, 1, 1]))
    assert node.apply(1, Snapshot.build([up], [site(port)])).ok
    client = Client(port, "shop.test")
    for _ in range(5000):
        status, _, _ = client.request("/")
        assert status == 200
    shares = [100 * x.total / 5000 for x in (a, b, c)]
    assert shares[0] == pytest.approx(60, abs=3)
    assert shares[1] == pytest.approx(20, abs=3)
    assert shares[2] == pytest.approx(20, abs=3)


def test_backup_gets_traffic_only_when_the_primaries_are_down(node, backends):
    one, two, spare = backends("one"), backends("two"), backends("spare")
    port = free_port()
    servers = members(one, two, spare, backup=[False, False, True])
    assert node.apply(
        1, Snapshot.build([UpstreamSpec("web", "least_conn", servers=servers)], [site(port)])
    ).ok
    client = Client(port, "shop.test")
    assert {client.get_json()["id"] for _ in range(40)} == {"one", "two"}
    assert spare.total == 0
    one.stop()
    two.stop()
    answers = [client.get_json()["id"] for _ in range(40)]
    assert answers == ["spare"] * 40


def test_disabled_and_draining_members_get_no_new_requests(node, backends):
    one, two, three = backends("one"), backends("two"), backends("three")
    port = free_port()
    servers = members(one, two, three, state=["enabled", "drain", "disabled"])
    assert node.apply(
        1, Snapshot.build([UpstreamSpec("web", "round_robin", servers=servers)], [site(port)])
    ).ok
    client = Client(port, "shop.test")
    assert {client.get_json()["id"] for _ in range(30)} == {"one"}


@pytest.mark.parametrize("algorithm", ["round_robin", "ip_hash", "random_two_least_conn"])
@pytest.mark.parametrize("state", [None, "disabled", "drain"])
def test_an_upstream_without_usable_members_fails_fast_with_502(node, backends, algorithm, state):
    port = free_port()
    servers = members(backends("one"), backends("two"), state=[state, state]) if state else ()
    assert node.apply(1, Snapshot.build([UpstreamSpec("web", algorithm, servers=servers)], [site(port)])).ok
    started = time.monotonic()
    status, _, _ = Client(port, "shop.test").request("/")
    assert status == 502
    assert time.monotonic() - started < 0.5


def test_a_dead_member_is_retried_on_the_next_one(node, backends):
    one, dead = backends("one"), backends("dead")
    dead.stop()
    port = free_port()
    up = UpstreamSpec("web", "round_robin", servers=members(one, dead))
    assert node.apply(1, Snapshot.build([up], [site(port)])).ok
    client = Client(port, "shop.test")
    assert [client.get_json()["id"] for _ in range(20)] == ["one"] * 20


@pytest.mark.parametrize(
    ("algorithm", "changes", "vary"),
    [
        ("ip_hash", {}, None),
        ("hash", {"hash_key": "header", "hash_key_name": "X-Tenant"}, "X-Tenant"),
        ("hash", {"hash_key": "uri", "hash_consistent": True}, None),
    ],
)
def test_hashing_keeps_a_key_on_one_member(node, backends, algorithm, changes, vary):
    servers = members(*(backends(f"b{i}") for i in range(4)))
    port = free_port()
    up = UpstreamSpec("web", algorithm, servers=servers, **changes)
    assert node.apply(1, Snapshot.build([up], [site(port)])).ok
    client = Client(port, "shop.test")
    for key in ("alpha", "beta", "gamma"):
        headers = {vary: key} if vary else {}
        seen = set()
        for _ in range(10):
            client._conn.request("GET", f"/{key}", headers={"Host": "shop.test", **headers})
            seen.add(json.loads(client._conn.getresponse().read())["id"])
        assert len(seen) == 1, (key, seen)


def test_random_two_least_conn_spreads_requests(node, backends):
    first, second = backends("first"), backends("second")
    port = free_port()
    up = UpstreamSpec("web", "random_two_least_conn", servers=members(first, second))
    assert node.apply(1, Snapshot.build([up], [site(port)])).ok
    client = Client(port, "shop.test")
    assert {client.get_json()["id"] for _ in range(60)} == {"first", "second"}


def test_a_route_strips_its_prefix(node, backends):
    web, api = backends("web"), backends("api")
    port = free_port()
    ups = [
        UpstreamSpec("web", "round_robin", servers=members(web)),
        UpstreamSpec("api", "round_robin", servers=members(api)),
    ]
    routes = (
        RouteSpec(10, "/api/", "api", strip_prefix=True),
        RouteSpec(20, "/keep", "api", strip_prefix=False),
    )
    assert node.apply(1, Snapshot.build(ups, [site(port, routes=routes)])).ok
    client = Client(port, "shop.test")
    assert client.get_json("/api/payments?x=1") == {"id": "api", "path": "/payments?x=1"}
    assert client.get_json("/keep/it") == {"id": "api", "path": "/keep/it"}
    assert client.get_json("/keep") == {"id": "api", "path": "/keep"}
    assert client.get_json("/keeper") == {"id": "web", "path": "/keeper"}
    assert client.get_json("/other") == {"id": "web", "path": "/other"}


def test_proxy_headers_and_request_id(node, backends):
    web = backends("web")
    port = free_port()
    up = UpstreamSpec("web", "round_robin", servers=members(web))
    assert node.apply(1, Snapshot.build([up], [site(port)])).ok
    client = Client(port, "shop.test")
    client._conn.request("GET", "/h", headers={"Host": "shop.test", "X-Forwarded-For": "6.6.6.6"})
    response = client._conn.getresponse()
    response.read()
    seen = web.requests[-1]["headers"]
    assert seen["Host"] == "shop.test"
    assert seen["X-Forwarded-For"] == "127.0.0.1"
    assert seen["X-Forwarded-Proto"] == "http"
    assert seen["X-Forwarded-Host"] == "shop.test"
    assert len(seen["X-Request-ID"]) == 32
    assert response.getheader("X-Request-ID") == seen["X-Request-ID"]
    assert response.getheader("Server") == "nginx"


def test_unknown_hosts_get_404_unless_a_catch_all_exists(node, backends):
    web = backends("web")
    port, other_port = free_port(), free_port()
    up = UpstreamSpec("web", "round_robin", servers=members(web))
    sites = [site(port), site(other_port, hostnames=(), name="anything")]
    assert node.apply(1, Snapshot.build([up], sites)).ok
    assert Client(port, "elsewhere.test").request("/")[0] == 404
    assert Client(port, "shop.test").request("/")[0] == 200
    assert Client(other_port, "whatever.test").get_json()["id"] == "web"


def test_a_large_request_body_is_buffered_through_the_prefix_temp_path(node, backends):
    web = backends("web")
    port = free_port()
    up = UpstreamSpec("web", "round_robin", servers=members(web))
    assert node.apply(1, Snapshot.build([up], [site(port)])).ok
    status, _, _ = Client(port, "shop.test").request("/upload", method="POST", body=b"x" * 300_000)
    assert status == 200
    assert web.requests[-1]["body_len"] == 300_000


def test_access_log_lines_are_json_with_upstream_timing(node, backends):
    web = backends("web")
    port = free_port()
    up = UpstreamSpec("web", "round_robin", servers=members(web))
    assert node.apply(1, Snapshot.build([up], [site(port)])).ok
    Client(port, "shop.test").get_json("/logged")
    deadline = time.monotonic() + 5
    entry = None
    while entry is None and time.monotonic() < deadline:
        lines = (node.prefix / "logs" / "access.log").read_text().splitlines()
        entries = [json.loads(line) for line in lines]
        entry = next((e for e in entries if e["uri"] == "/logged"), None)
        time.sleep(0.05)
    assert entry is not None
    assert entry["status"] == 200
    assert entry["upstream"] == "web"
    assert entry["upstream_addr"] == f"127.0.0.1:{web.port}"
    assert float(entry["upstream_response_time"]) >= 0
    assert len(entry["request_id"]) == 32
