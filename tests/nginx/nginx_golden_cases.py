"""The snapshots behind the golden files in tests/nginx/golden/<case>/.

Addresses are IP literals or `localhost`, so `nginx -t` can resolve every case on any machine.
"""

from __future__ import annotations

from nginx_golden_gateway import GATEWAY_CASES

from nginx.model import (
    NodeParams,
    RetryPolicy,
    RouteSpec,
    ServerSpec,
    Snapshot,
    UpstreamSpec,
    VirtualServerSpec,
)

NODE = NodeParams(name="golden", bind_address="127.0.0.1", status_port=8099)
REVISION = 1

_PAIR = (ServerSpec("1", "10.0.0.1", 8080), ServerSpec("2", "10.0.0.2", 8080))


def _up(name: str, algorithm: str = "round_robin", **changes: object) -> UpstreamSpec:
    changes.setdefault("servers", _PAIR)
    return UpstreamSpec(name, algorithm, **changes)  # type: ignore[arg-type]


def _site(upstream: str | None, name: str = "shop", ports: tuple[int, ...] = (8080,), **changes: object):
    hostnames = changes.pop("hostnames", ("shop.example.com",))
    return VirtualServerSpec(name, hostnames, ports, upstream, **changes)  # type: ignore[arg-type]


def _one(upstream: UpstreamSpec) -> Snapshot:
    return Snapshot.build([upstream], [_site(upstream.name)])


CASES: dict[str, Snapshot] = {
    "empty": Snapshot(),
    "round_robin_members": _one(
        _up(
            "web",
            servers=(
                ServerSpec("1", "10.0.0.1", 8080, weight=3, max_conns=50),
                ServerSpec("2", "10.0.0.2", 8080, max_fails=0, fail_timeout_s=30),
                ServerSpec("3", "2001:db8::3", 8080, state="drain"),
                ServerSpec("4", "localhost", 8081, state="disabled"),
                ServerSpec("5", "10.0.0.5", 8080, backup=True),
            ),
        )
    ),
    "least_conn_backup": _one(
        _up("web", "least_conn", servers=(*_PAIR, ServerSpec("3", "10.0.0.3", 8080, backup=True)))
    ),
    "ip_hash": _one(_up("web", "ip_hash")),
    "hash_header_consistent": _one(
        _up("web", "hash", hash_key="header", hash_key_name="X-Tenant-Id", hash_consistent=True)
    ),
    "hash_cookie": _one(_up("web", "hash", hash_key="cookie", hash_key_name="session_id")),
    "hash_client_ip": _one(_up("web", "hash", hash_key="client_ip")),
    "hash_uri": _one(_up("web", "hash", hash_key="uri", hash_consistent=True)),
    "random_two_least_conn": _one(_up("web", "random_two_least_conn")),
    "retries_and_timeouts": Snapshot.build(
        [
            _up(
                "careful",
                keepalive=0,
                connect_timeout_ms=250,
                read_timeout_s=5,
                send_timeout_s=5,
                retry=RetryPolicy(conditions=(), tries=1, timeout_s=1),
            ),
            _up(
                "eager",
                retry=RetryPolicy(("error", "timeout", "http_502", "http_503", "http_429"), 5, 30, True),
            ),
        ],
        [_site("eager", routes=(RouteSpec(1, "/slow/", "careful", strip_prefix=False),))],
    ),
    "demo_routes": Snapshot.build(
        [
            _up("web", servers=(ServerSpec("1", "127.0.0.1", 9001),)),
            _up("payments", servers=(ServerSpec("1", "127.0.0.1", 9101), ServerSpec("2", "127.0.0.1", 9102))),
        ],
        [_site("web", hostnames=(), routes=(RouteSpec(10, "/api/", "payments", strip_prefix=True),))],
    ),
    "sites_and_ports": Snapshot.build(
        [_up("web"), _up("api", "least_conn")],
        [
            _site("web", "catch-all", ports=(8080,), hostnames=()),
            _site("api", "api", ports=(8080, 8443), hostnames=("api.example.com", "*.api.example.com")),
            _site(None, "parked", ports=(8443,), hostnames=("parked.example.com",)),
            _site(
                None,
                "maintenance",
                ports=(9000,),
                hostnames=("old.example.com",),
                routes=(RouteSpec(1, "/status", "web"),),
            ),
        ],
    ),
    "empty_upstream": _one(_up("web", servers=())),
    **GATEWAY_CASES,
}
