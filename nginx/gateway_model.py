"""Typed, frozen specs of the gateway features: route conditions and actions, canaries, header edits,
sticky sessions and rate/connection limits. Parts of `nginx.model`'s RouteSpec, UpstreamSpec and
VirtualServerSpec; each field's comment names what it drives.

Like the rest of the model, values are validated by the compiler (`nginx.gateway_checks`), not here.
"""

from __future__ import annotations

from dataclasses import dataclass

PATH_KINDS = ("prefix", "exact", "regex")
VALUE_OPS = ("equals", "present", "regex")
ROUTE_ACTIONS = ("forward", "redirect", "respond")
STICKY_KINDS = ("cookie", "client_ip", "header")
LIMIT_KEYS = ("client_ip", "header", "route")
RATE_UNITS = ("s", "m")


@dataclass(frozen=True, slots=True)
class ValueMatch:
    """A condition on one request header, cookie or query parameter (first occurrence, name case-blind).

    `present` means "present and not empty" (nginx cannot tell an empty value from a missing one).
    """

    name: str
    op: str  # equals | present | regex
    value: str = ""  # the exact value or the regex; empty for `present`


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """What a request must carry to take a route; every condition given must hold."""

    host: str | None = None  # exact host name or `*.suffix` (the request's Host, port and case ignored)
    path_kind: str = "prefix"  # prefix (whole segments) | exact | regex (PCRE, unanchored search)
    methods: tuple[str, ...] = ()  # empty = any method
    header: ValueMatch | None = None
    cookie: ValueMatch | None = None
    query: ValueMatch | None = None


@dataclass(frozen=True, slots=True)
class Canary:
    """Sends part of a forward route's traffic to another upstream.

    A request whose `header` equals `header_value` (or whose `cookie` equals `cookie_value`) always goes
    to the canary; of the others, `weight` percent do (chosen from a hash of `$request_id`).
    """

    upstream: str
    weight: int = 0  # percent, 0-100
    header: str | None = None
    header_value: str | None = None
    cookie: str | None = None
    cookie_value: str | None = None


@dataclass(frozen=True, slots=True)
class HeaderEdits:
    """Headers set on or removed from the proxied request and the client's response."""

    request_set: tuple[tuple[str, str], ...] = ()  # proxy_set_header Name "value"
    request_remove: tuple[str, ...] = ()  # proxy_set_header Name ""
    response_set: tuple[tuple[str, str], ...] = ()  # proxy_hide_header Name; add_header Name "value" always
    response_remove: tuple[str, ...] = ()  # proxy_hide_header Name


@dataclass(frozen=True, slots=True)
class RateLimitSpec:
    """A request-rate and/or connection limit, counted per data-plane node (shared memory zones).

    Requests over `rate` per `unit` (beyond `burst`) get `rate_status`; with `delay` (nginx's
    `limit_req ... delay=`), that many burst requests pass at once and the rest of the burst is slowed
    down; `nodelay` passes the whole burst at once. More than `connections` concurrent requests per key get
    `conn_status`. Both answers carry `Retry-After: retry_after_s`. Clients in `exempt` CIDRs are never
    counted.
    """

    name: str  # zone names: lb_req_<scope>, lb_conn_<scope>
    rate: int = 0  # limit_req_zone ... rate=<rate>r/<unit> (0 = no request-rate limit)
    unit: str = "s"  # s | m
    burst: int = 0  # limit_req ... burst=
    nodelay: bool = True  # limit_req ... nodelay
    delay: int = 0  # limit_req ... delay= (only without nodelay)
    key: str = "client_ip"  # client_ip | header | route
    key_header: str | None = None  # the header for key == header (requests without it count by client IP)
    connections: int = 0  # limit_conn (0 = no connection limit)
    rate_status: int = 429  # limit_req_status
    conn_status: int = 503  # limit_conn_status
    retry_after_s: int = 1  # Retry-After on the limit's own answers
    exempt: tuple[str, ...] = ()  # geo: CIDRs never limited


@dataclass(frozen=True, slots=True)
class StickySpec:
    """Session affinity of an upstream.

    `cookie`: a Lua balancer; the LB issues `cookie_name` naming the member by an opaque id
    (HMAC-SHA256 of `address:port` keyed by `secret`), so bindings survive reloads and restarts.
    `client_ip` / `header`: consistent hashing (`hash ... consistent`) of the client address / a header.
    """

    kind: str  # cookie | client_ip | header
    secret: str = ""  # HMAC key for member ids (cookie only); never rendered
    cookie_name: str = "lb_sticky"
    cookie_ttl_s: int = 0  # Max-Age (0 = a session cookie)
    cookie_path: str = "/"
    cookie_secure: bool = False
    cookie_http_only: bool = True
    cookie_same_site: str = "Lax"
    header_name: str | None = None  # kind == header
