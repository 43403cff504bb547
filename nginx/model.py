"""Typed, frozen snapshot of the desired data-plane state: the compiler's only input.

The control plane builds one `Snapshot` per compile from PostgreSQL. Everything is immutable
(frozen dataclasses, tuples) so a snapshot can be shared between threads and hashed, and
`Snapshot.build` puts every collection in a canonical order so that equal desired states give
byte-equal configs and equal checksums (no spurious reloads).

Values are *not* validated here: the Django layer validates fields with `nginx.validation`, and the
compiler validates everything again (defence in depth) before any text is produced. Each field's
comment names the nginx directive it drives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nginx.gateway_model import Canary, HeaderEdits, RateLimitSpec, RouteMatch, StickySpec

if TYPE_CHECKING:  # nginx.tls imports this module; the annotation below is only a string at run time
    from nginx.tls import TlsSpec

SERVER_STATES = ("enabled", "drain", "disabled")
ALGORITHMS = ("round_robin", "least_conn", "ip_hash", "hash", "random_two_least_conn")
HASH_KEYS = ("client_ip", "header", "cookie", "uri")
RETRY_CONDITIONS = (
    "error",
    "timeout",
    "invalid_header",
    "http_500",
    "http_502",
    "http_503",
    "http_504",
    "http_403",
    "http_404",
    "http_429",
)


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """One backend member of an upstream pool (`server` directive inside `upstream`).

    `state`: `enabled` serves traffic; `disabled` is rendered `down`. `drain` is also rendered `down`
    (requests in flight finish on the draining workers of the graceful reload), except in an upstream
    with cookie affinity: there the Lua balancer keeps sending the clients bound to the member by
    their cookie, and sends it no new client (`nginx.affinity`).
    """

    key: str  # stable identity (the database primary key as text); never rendered
    address: str  # IPv4/IPv6 literal or hostname (resolved by nginx at load time)
    port: int
    weight: int = 1  # server ... weight=
    max_fails: int = 3  # server ... max_fails= (0 disables failure accounting)
    fail_timeout_s: int = 10  # server ... fail_timeout=
    max_conns: int = 0  # server ... max_conns= (0 = unlimited; counted per worker without a zone)
    backup: bool = False  # server ... backup (round_robin and least_conn only)
    state: str = "enabled"  # enabled | drain | disabled


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Passive failover: when nginx moves a request on to the next member.

    Defaults keep a dead or hanging backend cheap for clients: at most 3 tries within 10 s, and
    never replaying a POST/PATCH/LOCK unless `non_idempotent` is set.
    """

    conditions: tuple[str, ...] = ("error", "timeout")  # proxy_next_upstream (empty = off)
    tries: int = 3  # proxy_next_upstream_tries
    timeout_s: int = 10  # proxy_next_upstream_timeout
    non_idempotent: bool = False  # proxy_next_upstream ... non_idempotent


@dataclass(frozen=True, slots=True)
class UpstreamSpec:
    """A pool of backend servers and how requests are spread and retried across them.

    Timeout defaults: connecting is the cheap part, so a member that does not accept within 1 s
    is skipped (and retried on the next member); a member that accepted but stays silent costs a
    client at most `read_timeout_s`.
    """

    name: str  # upstream block name and file name: upstreams/<name>.conf
    algorithm: str  # one of ALGORITHMS
    hash_key: str | None = None  # client_ip | header | cookie | uri (algorithm == "hash" only)
    hash_key_name: str | None = None  # the header or cookie name for those keys
    hash_consistent: bool = False  # hash ... consistent (ketama)
    keepalive: int = 32  # keepalive (idle connections cached per worker; 0 = none)
    connect_timeout_ms: int = 1000  # proxy_connect_timeout
    read_timeout_s: int = 30  # proxy_read_timeout
    send_timeout_s: int = 30  # proxy_send_timeout
    retry: RetryPolicy = RetryPolicy()
    servers: tuple[ServerSpec, ...] = ()
    sticky: StickySpec | None = None  # session affinity (nginx.affinity); replaces the algorithm


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A route of a virtual server: conditions, then forward / redirect / fixed response (`nginx.routing`).

    Routes are tried in the order of `nginx.routing.precedence` (ascending `priority`, then the more
    specific first); the first whose every condition holds takes the request. `path_prefix` is the path
    condition: a prefix matching whole segments, an exact path or a regex (`match.path_kind`). With
    `strip_prefix`, `/api/x` reaches the upstream as `/x`; `rewrite_prefix` replaces the prefix instead.
    """

    priority: int
    path_prefix: str
    upstream: str | None  # forward target (None for redirect and respond)
    strip_prefix: bool = False
    key: str = ""  # stable identity (the database key as text): named locations @lb_r<key>
    match: RouteMatch = dataclasses.field(default_factory=RouteMatch)
    action: str = "forward"  # forward | redirect | respond
    rewrite_prefix: str | None = None  # forward: the path prefix replacing the matched one
    canary: Canary | None = None  # forward: part of the traffic to another upstream
    headers: HeaderEdits = dataclasses.field(
        default_factory=HeaderEdits
    )  # forward: request/response headers set or removed
    redirect_status: int = 302  # redirect: return <status> <url>
    redirect_url: str | None = None
    respond_status: int = 200  # respond: return <status> "<body>"
    respond_body: str = ""
    rate_limits: tuple[RateLimitSpec, ...] = ()  # limit_req / limit_conn in the route's locations


@dataclass(frozen=True, slots=True)
class VirtualServerSpec:
    """A listener identity: host names on HTTP ports, routed to upstreams (`server` block).

    Empty `hostnames` makes it the catch-all (default server) of each of its ports; at most one
    catch-all per port. Without `default_upstream`, requests that match no route get 404.
    """

    name: str  # file name: sites/<name>.conf
    hostnames: tuple[str, ...]  # server_name
    http_ports: tuple[int, ...]  # listen (through node/listen/<port>*.conf)
    default_upstream: str | None  # location / { proxy_pass http://<upstream>; }
    routes: tuple[RouteSpec, ...] = ()
    rate_limits: tuple[RateLimitSpec, ...] = ()  # limit_req / limit_conn in every location of the site
    tls: TlsSpec | None = None  # HTTPS listeners, certificates, redirect, mTLS... (nginx.tls)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The complete desired state the compiler turns into one config revision."""

    upstreams: tuple[UpstreamSpec, ...] = ()
    virtual_servers: tuple[VirtualServerSpec, ...] = ()

    @classmethod
    def build(
        cls, upstreams: Iterable[UpstreamSpec], virtual_servers: Iterable[VirtualServerSpec]
    ) -> Snapshot:
        """Return a snapshot with every collection in canonical order (equal input → equal output)."""
        return cls(
            upstreams=tuple(sorted((_canonical_upstream(u) for u in upstreams), key=lambda u: u.name)),
            virtual_servers=tuple(
                sorted((_canonical_virtual_server(v) for v in virtual_servers), key=lambda v: v.name)
            ),
        )


@dataclass(frozen=True, slots=True)
class NodeParams:
    """What differs between data-plane nodes; rendered only into the node-local files."""

    name: str
    bind_address: str = "127.0.0.1"  # address every listener binds to on this node
    status_port: int = 8099  # private status listener: /revision, /healthz


def _canonical_upstream(upstream: UpstreamSpec) -> UpstreamSpec:
    order = {c: i for i, c in enumerate(RETRY_CONDITIONS)}
    conditions = tuple(sorted(upstream.retry.conditions, key=lambda c: (order.get(c, len(order)), c)))
    return dataclasses.replace(
        upstream,
        retry=dataclasses.replace(upstream.retry, conditions=conditions),
        servers=tuple(sorted(upstream.servers, key=lambda s: (s.address, s.port, s.key))),
    )


def _canonical_virtual_server(vs: VirtualServerSpec) -> VirtualServerSpec:
    return dataclasses.replace(
        vs,
        hostnames=tuple(sorted(vs.hostnames)),
        http_ports=tuple(sorted(vs.http_ports)),
        routes=tuple(sorted(vs.routes, key=lambda r: (r.priority, r.path_prefix, r.key, r.upstream or ""))),
    )
