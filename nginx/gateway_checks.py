"""Compile-time validation of the gateway specs: routes, canaries, header edits, affinity and limits.

Errors are `CompileError`s located like the rest (`nginx.checks`): route fields under the virtual
server (`routes[<index>].<field>`), policies under whatever they are attached to
(`rate_limits[<name>].<field>`), affinity under the upstream (`sticky.<field>`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from nginx import validation as v
from nginx.checks import Collector, CompileError
from nginx.gateway_model import (
    LIMIT_KEYS,
    PATH_KINDS,
    RATE_UNITS,
    ROUTE_ACTIONS,
    STICKY_KINDS,
    VALUE_OPS,
    Canary,
    HeaderEdits,
    RateLimitSpec,
    StickySpec,
    ValueMatch,
)
from nginx.model import RouteSpec, Snapshot, UpstreamSpec, VirtualServerSpec
from nginx.routing import RESERVED_REQUEST_HEADERS, RESERVED_RESPONSE_HEADERS


def find_errors(snapshot: Snapshot) -> tuple[CompileError, ...]:
    """Affinity and limit problems (routes themselves are checked by `nginx.checks`, via `check_routes`)."""
    errors: list[CompileError] = []
    for upstream in snapshot.upstreams:
        if upstream.sticky is not None:
            check_sticky(Collector("upstream", upstream.name, errors), upstream, upstream.sticky)
    policies: dict[str, RateLimitSpec] = {}
    for vs in snapshot.virtual_servers:
        col = Collector("virtual_server", vs.name, errors)
        _check_policies(col, "rate_limits", vs.rate_limits, policies)
        for index, route in enumerate(vs.routes):
            _check_policies(col, f"routes[{index}].rate_limits", route.rate_limits, policies)
    return tuple(errors)


def check_routes(col: Collector, vs: VirtualServerSpec, upstreams: set[str]) -> None:
    keys = [r.key for r in vs.routes if r.key]
    if len(set(keys)) != len(keys):
        col.fail("routes", "two routes have the same key")
    for index, route in enumerate(vs.routes):
        check_route(col, f"routes[{index}]", route, upstreams)


def check_route(col: Collector, at: str, route: RouteSpec, upstreams: set[str]) -> None:
    col.check(f"{at}.priority", v.validate_bounded, route.priority, "route_priority", "priority")
    if route.key:
        col.check(f"{at}.key", v.validate_key, route.key)
    kind = route.match.path_kind
    if col.check(f"{at}.path_kind", v.validate_choice, kind, "path kind", PATH_KINDS):
        rule = v.validate_route_regex if kind == "regex" else v.validate_path_prefix
        col.check(f"{at}.path_prefix", rule, route.path_prefix)
    _check_match(col, at, route)
    if not col.check(f"{at}.action", v.validate_choice, route.action, "action", ROUTE_ACTIONS):
        return
    if route.action == "redirect":
        col.check(f"{at}.redirect_url", v.validate_redirect_url, route.redirect_url)
        col.check(f"{at}.redirect_status", v.validate_redirect_status, route.redirect_status)
    elif route.action == "respond":
        col.check(f"{at}.respond_status", v.validate_status, route.respond_status, "status")
        col.check(f"{at}.respond_body", v.validate_body_text, route.respond_body)
    else:
        _check_forward(col, at, route, upstreams)


def _check_match(col: Collector, at: str, route: RouteSpec) -> None:
    m = route.match
    if m.host is not None:
        col.check(f"{at}.host", v.validate_server_name, m.host)
    if col.tuple_of(f"{at}.methods", m.methods, str):
        for method in m.methods:
            col.check(f"{at}.methods", v.validate_choice, method, "method", v.HTTP_METHODS)
        if len(set(m.methods)) != len(m.methods):
            col.fail(f"{at}.methods", "each method may appear only once")
    _check_value_match(col, f"{at}.header", m.header, _header_condition_name)
    _check_value_match(col, f"{at}.cookie", m.cookie, v.validate_field_name)
    _check_value_match(col, f"{at}.query", m.query, v.validate_field_name)


def _header_condition_name(name: object) -> object:
    """Header conditions read `$http_<name>`: letters, digits and '-' (nginx drops names with '_')."""
    return v.validate_hash_key("header", name)


def _check_value_match(
    col: Collector, at: str, cond: ValueMatch | None, name_rule: Callable[[object], object]
) -> None:
    if cond is None:
        return
    col.check(f"{at}.name", name_rule, cond.name)
    if not col.check(f"{at}.op", v.validate_choice, cond.op, "match", VALUE_OPS):
        return
    if cond.op == "present":
        if cond.value:
            col.fail(f"{at}.value", "a presence test takes no value")
    elif cond.op == "regex":
        col.check(f"{at}.value", v.validate_route_regex, cond.value)
    elif at.endswith("header"):
        col.check(f"{at}.value", v.validate_header_value, cond.value)
    else:
        col.check(f"{at}.value", v.validate_match_value, cond.value)


def _check_forward(col: Collector, at: str, route: RouteSpec, upstreams: set[str]) -> None:
    if route.upstream not in upstreams:
        col.fail(f"{at}.upstream", f"no upstream named {ascii(route.upstream)[:70]}")
    col.check(f"{at}.strip_prefix", v.validate_bool, route.strip_prefix, "strip_prefix")
    if route.rewrite_prefix is not None or route.strip_prefix:
        if route.rewrite_prefix is not None and route.strip_prefix:
            col.fail(f"{at}.rewrite_prefix", "use either strip_prefix or rewrite_prefix")
        if route.match.path_kind == "regex":
            col.fail(f"{at}.rewrite_prefix", "a regular-expression path cannot be stripped or rewritten")
        if route.rewrite_prefix is not None:
            col.check(f"{at}.rewrite_prefix", v.validate_path_prefix, route.rewrite_prefix)
    if route.canary is not None:
        _check_canary(col, f"{at}.canary", route.canary, upstreams)
    _check_headers(col, f"{at}.headers", route.headers)


def _check_canary(col: Collector, at: str, canary: Canary, upstreams: set[str]) -> None:
    if canary.upstream not in upstreams:
        col.fail(f"{at}.upstream", f"no upstream named {ascii(canary.upstream)[:70]}")
    col.check(f"{at}.weight", v.validate_bounded, canary.weight, "canary_weight", "canary weight")
    for name, value, rule, field in (
        (canary.header, canary.header_value, _header_condition_name, "header"),
        (canary.cookie, canary.cookie_value, v.validate_field_name, "cookie"),
    ):
        if (name is None) != (value is None):
            where = f"{at}.{field}" if name is None else f"{at}.{field}_value"
            col.fail(where, f"give both the canary {field} and its value, or neither")
        elif name is not None:
            col.check(f"{at}.{field}", rule, name)
            col.check(f"{at}.{field}_value", v.validate_match_value, value)
    if not (canary.weight or canary.header or canary.cookie):
        col.fail(f"{at}.weight", "a canary needs a weight, a header or a cookie")


def _check_headers(col: Collector, at: str, edits: HeaderEdits) -> None:
    for field, names, reserved in (
        ("request_set", [n for n, _ in edits.request_set], RESERVED_REQUEST_HEADERS),
        ("request_remove", list(edits.request_remove), RESERVED_REQUEST_HEADERS),
        ("response_set", [n for n, _ in edits.response_set], RESERVED_RESPONSE_HEADERS),
        ("response_remove", list(edits.response_remove), RESERVED_RESPONSE_HEADERS),
    ):
        for name in names:
            if col.check(f"{at}.{field}", v.validate_header_name, name) and name.lower() in reserved:
                col.fail(f"{at}.{field}", f"the gateway manages {name} itself")
    for direction in ("request", "response"):
        sets = getattr(edits, f"{direction}_set")
        names = [n for n, _ in sets] + list(getattr(edits, f"{direction}_remove"))
        if len({n.lower() for n in names if isinstance(n, str)}) != len(names):
            col.fail(f"{at}.{direction}_remove", "a header may be set or removed only once")
        for name, value in sets:
            col.check(f"{at}.{direction}_set", v.validate_header_value, value, f"value of {ascii(name)[:40]}")


def check_sticky(col: Collector, upstream: UpstreamSpec, sticky: StickySpec) -> None:
    if not col.check("sticky.kind", v.validate_choice, sticky.kind, "affinity", STICKY_KINDS):
        return
    if upstream.algorithm != "round_robin" or upstream.hash_key is not None:
        col.fail("sticky.kind", "sticky sessions choose the member themselves: use the round_robin algorithm")
    if sticky.kind == "header":
        col.check("sticky.header_name", v.validate_hash_key, "header", sticky.header_name)
    if sticky.kind != "cookie":
        if any(s.backup for s in upstream.servers):
            col.fail("sticky.kind", "consistent hashing does not support backup servers")
        return
    if not (isinstance(sticky.secret, str) and sticky.secret):
        col.fail("sticky.secret", "cookie affinity needs a secret for the member ids")
    col.check("sticky.cookie_name", v.validate_field_name, sticky.cookie_name, "cookie name")
    col.check("sticky.cookie_ttl_s", v.validate_bounded, sticky.cookie_ttl_s, "cookie_ttl_s", "cookie TTL")
    col.check("sticky.cookie_path", v.validate_path_prefix, sticky.cookie_path)
    col.check("sticky.cookie_secure", v.validate_bool, sticky.cookie_secure, "secure")
    col.check("sticky.cookie_http_only", v.validate_bool, sticky.cookie_http_only, "http_only")
    same_site_ok = col.check("sticky.cookie_same_site", v.validate_same_site, sticky.cookie_same_site)
    if same_site_ok and sticky.cookie_same_site == "None" and not sticky.cookie_secure:
        col.fail("sticky.cookie_same_site", "browsers refuse SameSite=None without Secure")
    for server in upstream.servers:
        if not _is_ip(server.address):
            col.fail(f"servers[{ascii(server.key)[1:-1][:64]}].address", "cookie affinity needs IP addresses")


def _is_ip(address: str) -> bool:
    try:
        v.validate_ip(address)
    except ValueError:
        return False
    return True


def _check_policies(
    col: Collector, at: str, policies: Iterable[RateLimitSpec], seen: dict[str, RateLimitSpec]
) -> None:
    for policy in policies:
        where = f"{at}[{ascii(policy.name)[1:-1][:64]}]"
        if not col.check(f"{where}.name", v.validate_name, policy.name, "policy name"):
            continue
        twin = seen.setdefault(policy.name.replace("-", "_"), policy)
        if twin != policy:
            col.fail(f"{where}.name", "two different policies have this name (or differ only in - and _)")
        check_policy(col, where, policy)


def check_policy(col: Collector, at: str, p: RateLimitSpec) -> None:
    for field in ("rate", "burst", "delay", "connections", "retry_after_s"):
        value = getattr(p, field)
        if field == "rate" and value == 0:
            continue
        col.check(f"{at}.{field}", v.validate_bounded, value, field)
    if not (p.rate or p.connections):
        col.fail(f"{at}.rate", "a policy limits a request rate, connections, or both")
    col.check(f"{at}.unit", v.validate_choice, p.unit, "unit", RATE_UNITS)
    col.check(f"{at}.nodelay", v.validate_bool, p.nodelay, "nodelay")
    if p.nodelay and p.delay:
        col.fail(f"{at}.delay", "delay and nodelay exclude each other")
    if isinstance(p.delay, int) and isinstance(p.burst, int) and p.delay > p.burst:
        col.fail(f"{at}.delay", "delay cannot exceed the burst")
    if col.check(f"{at}.key", v.validate_choice, p.key, "key", LIMIT_KEYS) and p.key == "header":
        col.check(f"{at}.key_header", v.validate_hash_key, "header", p.key_header)
    elif p.key_header is not None:
        col.fail(f"{at}.key_header", "only a header key takes a header name")
    col.check(f"{at}.rate_status", v.validate_status, p.rate_status, "rate status", 400, 599)
    col.check(f"{at}.conn_status", v.validate_status, p.conn_status, "connection status", 400, 599)
    if col.tuple_of(f"{at}.exempt", p.exempt, str):
        for cidr in p.exempt:
            col.check(f"{at}.exempt", v.validate_cidr, cidr)
