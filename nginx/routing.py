"""Content-aware routing: precedence, the reference matcher, and the routed site's locations.

nginx cannot match several conditions per `location`, so a site with routes compiles to:

    location / { rewrite_by_lua_block { require("lb.gateway").route() } }   tries the routes in order
    location @lb_r<key>        { ...proxy to the route's upstream, or return a redirect / fixed body... }
    location @lb_r<key>_canary { ...proxy to the canary upstream... }
    location @lb_default       { ...proxy to the default upstream, or return 404... }

The routes reach Lua as data (`route_data`, a JSON document in the revision), never as code. Lua tries
them in the order of `precedence`, the first match wins:

1. ascending `priority`;
2. then by path kind: exact paths, then prefixes, then regular expressions;
3. then the longer path first (a longer prefix is more specific);
4. then the route with more conditions (host, methods, header, cookie, query) first;
5. then by key (creation order), so that the order is total and stable.

`match` is the same algorithm in Python, on a sample request: it answers "which route would take this
request" for the API, and the gateway tests check that it agrees with nginx.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from nginx import affinity, limits
from nginx.directives import Directive, d
from nginx.gateway_model import ValueMatch
from nginx.model import RouteSpec, UpstreamSpec, VirtualServerSpec

Proxied = Callable[[tuple[str, ...], RouteSpec, UpstreamSpec], Directive]

DEFAULT_LOCATION = "@lb_default"
_KIND_ORDER = {"exact": 0, "prefix": 1, "regex": 2}
# Headers the proxied request always carries (compiler._location); a route may not set or remove them.
RESERVED_REQUEST_HEADERS = frozenset(
    {
        "host",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-request-id",
        "upgrade",
        "connection",
        "content-length",
        "transfer-encoding",
    }
)
RESERVED_RESPONSE_HEADERS = frozenset({"x-request-id", "retry-after", "content-length", "transfer-encoding"})


def route_id(route: RouteSpec, index: int) -> str:
    """The route's name in the revision: `k<key>`, or `i<position>` for specs built without keys."""
    return f"k{route.key}" if route.key else f"i{index}"


def condition_count(route: RouteSpec) -> int:
    m = route.match
    return sum(x is not None for x in (m.host, m.header, m.cookie, m.query)) + bool(m.methods)


def precedence(route: RouteSpec) -> tuple[int, int, int, int, int, str, str]:
    """Sort key: the first route in this order whose every condition holds takes the request."""
    key_number = int(route.key) if route.key.isdigit() else 0
    return (
        route.priority,
        _KIND_ORDER.get(route.match.path_kind, len(_KIND_ORDER)),
        -len(route.path_prefix),
        -condition_count(route),
        key_number,
        route.key,
        route.path_prefix,
    )


def ordered(vs: VirtualServerSpec) -> list[tuple[str, RouteSpec]]:
    """(route id, route) in precedence order."""
    ranked = sorted(enumerate(vs.routes), key=lambda item: (precedence(item[1]), item[0]))
    return [(route_id(route, index), route) for index, route in ranked]


def header_variable(name: str) -> str:
    return "http_" + name.lower().replace("-", "_")


def rewritten(matched_prefix: str, to: str, uri: str) -> str:
    """The path after replacing `matched_prefix` with `to` (the same arithmetic as gateway.lua)."""
    rest = uri[len(matched_prefix) :]
    if matched_prefix.endswith("/"):
        rest = "/" + rest
    return (to.rstrip("/") + rest) or "/"


def rewrite_target(route: RouteSpec) -> str | None:
    """Where the matched prefix goes: "/" with strip_prefix, else rewrite_prefix, else None (kept)."""
    if route.action != "forward":
        return None
    if route.strip_prefix:
        return "/"
    return route.rewrite_prefix


# --- The reference matcher -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """A sample request, seen as nginx sees it (`$host`, `$uri`, `$http_*`, `$cookie_*`, `$arg_*`)."""

    method: str = "GET"
    host: str = ""
    path: str = "/"
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """Which route a sample takes, and what the route does with it."""

    route: RouteSpec | None  # None: no route matched, the site's default applies
    action: str  # forward | redirect | respond | not_found
    upstream: str | None = None
    path: str = "/"  # the path the upstream receives
    canary_upstream: str | None = None
    canary_reason: str | None = None  # header | cookie | weight (then only `canary_weight` % go there)
    canary_weight: int = 0


def normalize_host(host: str) -> str:
    """`$host`: lowercase, without port and trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):
        host = host.split("]", 1)[0] + "]"
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return host.rstrip(".")


def normalize_path(path: str) -> str:
    """`$uri`: percent-decoded, slashes merged, `.` and `..` segments resolved, no query."""
    path = unquote(path.split("?", 1)[0]) or "/"
    segments: list[str] = []
    for segment in re.sub("/+", "/", path).split("/")[1:]:
        if segment == "..":
            if segments:
                segments.pop()
        elif segment != ".":
            segments.append(segment)
    trailing = path.endswith(("/", "/.", "/..")) and segments != []
    return "/" + "/".join(segments) + ("/" if trailing and segments[-1] != "" else "")


def _first(values: Mapping[str, str], name: str, fold: Callable[[str], str]) -> str:
    wanted = fold(name)
    return next((v for k, v in values.items() if fold(k) == wanted), "")


def _header(sample: Sample, name: str) -> str:
    return _first(sample.headers, name, lambda n: n.lower().replace("_", "-"))


def _value_ok(cond: ValueMatch | None, value: str) -> bool:
    if cond is None:
        return True
    if not value:
        return False
    if cond.op == "present":
        return True
    if cond.op == "equals":
        return value == cond.value
    return re.search(cond.value, value, re.ASCII) is not None


def _host_ok(want: str | None, host: str) -> bool:
    if want is None:
        return True
    want = want.lower()
    if want.startswith("*."):
        return host.endswith(want[1:]) and len(host) > len(want) - 1
    return host == want


def path_matches(route: RouteSpec, uri: str) -> bool:
    kind, value = route.match.path_kind, route.path_prefix
    if kind == "exact":
        return uri == value
    if kind == "regex":
        return re.search(value, uri, re.ASCII) is not None
    if not uri.startswith(value):
        return False
    return value.endswith("/") or uri[len(value) : len(value) + 1] in ("", "/")


def matches(route: RouteSpec, sample: Sample) -> bool:
    m, uri = route.match, normalize_path(sample.path)
    return (
        (not m.methods or sample.method.upper() in m.methods)
        and _host_ok(m.host, normalize_host(sample.host))
        and path_matches(route, uri)
        and _value_ok(m.header, _header(sample, m.header.name) if m.header else "")
        and _value_ok(m.cookie, _first(sample.cookies, m.cookie.name, str.lower) if m.cookie else "")
        and _value_ok(m.query, _first(sample.query, m.query.name, str.lower) if m.query else "")
    )


def match(vs: VirtualServerSpec, sample: Sample) -> Decision:
    """The decision nginx takes for `sample` on `vs` (a weighted canary is reported, not drawn)."""
    uri = normalize_path(sample.path)
    for _, route in ordered(vs):
        if matches(route, sample):
            return _decide(route, sample, uri)
    if vs.default_upstream is None:
        return Decision(route=None, action="not_found", path=uri)
    return Decision(route=None, action="forward", upstream=vs.default_upstream, path=uri)


def _decide(route: RouteSpec, sample: Sample, uri: str) -> Decision:
    if route.action != "forward":
        return Decision(route=route, action=route.action, path=uri)
    to = rewrite_target(route)
    path = rewritten(route.path_prefix, to, uri) if to is not None else uri
    decision = Decision(route=route, action="forward", upstream=route.upstream, path=path)
    canary = route.canary
    if canary is None:
        return decision
    reason = None
    if canary.header and canary.header_value == _header(sample, canary.header):
        reason = "header"
    elif canary.cookie and canary.cookie_value == _first(sample.cookies, canary.cookie, str.lower):
        reason = "cookie"
    if reason:
        return dataclasses.replace(decision, upstream=canary.upstream, canary_reason=reason)
    if canary.weight:
        return dataclasses.replace(
            decision, canary_upstream=canary.upstream, canary_reason="weight", canary_weight=canary.weight
        )
    return decision


# --- Compiled form ---------------------------------------------------------------------------------


def routed(vs: VirtualServerSpec) -> bool:
    """Whether the site is routed by the Lua matcher (it has routes)."""
    return bool(vs.routes)


def _value_data(cond: ValueMatch | None, variable: str) -> dict[str, str] | None:
    if cond is None:
        return None
    return {"var": variable, "op": cond.op, "value": cond.value}


def _route_data(rid: str, route: RouteSpec) -> dict[str, Any]:
    m = route.match
    data: dict[str, Any] = {
        "id": rid,
        "path": {"kind": m.path_kind, "value": route.path_prefix},
        "target": f"@lb_r{rid}",
    }
    if m.host is not None:
        host = m.host.lower()
        data["host"] = {"suffix": host[1:]} if host.startswith("*.") else {"exact": host}
    if m.methods:
        data["methods"] = {method: True for method in m.methods}
    conditions = {
        "header": _value_data(m.header, header_variable(m.header.name) if m.header else ""),
        "cookie": _value_data(m.cookie, f"cookie_{m.cookie.name}" if m.cookie else ""),
        "query": _value_data(m.query, f"arg_{m.query.name}" if m.query else ""),
    }
    data.update({k: c for k, c in conditions.items() if c is not None})
    to = rewrite_target(route)
    if to is not None:
        data["rewrite"] = {"from": route.path_prefix, "to": to.rstrip("/")}
    if route.canary is not None:
        data["canary"] = _canary_data(rid, route)
    return data


def _canary_data(rid: str, route: RouteSpec) -> dict[str, Any]:
    canary = route.canary
    assert canary is not None
    data: dict[str, Any] = {"target": f"@lb_r{rid}_canary", "weight": canary.weight}
    if canary.header and canary.header_value:
        data["header"] = {"var": header_variable(canary.header), "value": canary.header_value}
    if canary.cookie and canary.cookie_value:
        data["cookie"] = {"var": f"cookie_{canary.cookie}", "value": canary.cookie_value}
    return data


def route_data(vs: VirtualServerSpec) -> dict[str, Any]:
    """The site's routes as Lua data, in precedence order."""
    return {"routes": [_route_data(rid, route) for rid, route in ordered(vs)], "default": DEFAULT_LOCATION}


def handles(vs: VirtualServerSpec, upstreams: Mapping[str, UpstreamSpec]) -> bool:
    """Whether the gateway renders the site's locations: routes, limits or a cookie-affine default."""
    default = upstreams.get(vs.default_upstream) if vs.default_upstream else None
    return routed(vs) or bool(vs.rate_limits) or (default is not None and affinity.uses_lua(default))


def site_locations(
    vs: VirtualServerSpec, upstreams: Mapping[str, UpstreamSpec], proxied: Proxied
) -> list[Directive]:
    """The locations of a site the gateway handles (see the module docstring); `proxied` renders one
    proxy location (the compiler's, so routes proxy exactly like plain sites)."""
    if not routed(vs):
        return [default_location(vs, upstreams, proxied, "/")]
    out = [
        d("set", "$lb_site", vs.name),
        d("location", "/", block=[d("rewrite_by_lua_block", ' require("lb.gateway").route() ')]),
    ]
    for rid, route in ordered(vs):
        scope = limits.Scope(vs.name, rid, route.rate_limits, vs.rate_limits)
        if route.action == "redirect":
            out.append(
                _named(
                    f"@lb_r{rid}", scope, [d("return", str(route.redirect_status), str(route.redirect_url))]
                )
            )
        elif route.action == "respond":
            body = [
                d("default_type", "text/plain"),
                d("return", str(route.respond_status), route.respond_body),
            ]
            out.append(_named(f"@lb_r{rid}", scope, body))
        else:
            assert route.upstream is not None
            out.append(forward_location(f"@lb_r{rid}", route, upstreams[route.upstream], scope, proxied))
            if route.canary is not None:
                target = upstreams[route.canary.upstream]
                out.append(forward_location(f"@lb_r{rid}_canary", route, target, scope, proxied))
    out.append(default_location(vs, upstreams, proxied, DEFAULT_LOCATION))
    return out


def default_location(
    vs: VirtualServerSpec, upstreams: Mapping[str, UpstreamSpec], proxied: Proxied, name: str
) -> Directive:
    """Requests no route takes: the default upstream, or 404 (`name` is `/` for a site without routes)."""
    scope = limits.Scope(vs.name, "default", (), vs.rate_limits)
    if vs.default_upstream is None:
        return _named(name, scope, [d("return", "404")])
    root = RouteSpec(priority=0, path_prefix="/", upstream=vs.default_upstream)
    return forward_location(name, root, upstreams[vs.default_upstream], scope, proxied)


def forward_location(
    name: str, route: RouteSpec, upstream: UpstreamSpec, scope: limits.Scope, proxied: Proxied
) -> Directive:
    """A proxy location to `upstream` with the route's header edits, limits and affinity cookie."""
    location = proxied((name,), dataclasses.replace(route, strip_prefix=False), upstream)
    block: list[Directive] = [*scope.route_variable(), *location["block"]]
    edits = route.headers
    block += [d("proxy_set_header", n, v) for n, v in edits.request_set]
    block += [d("proxy_set_header", n, "") for n in edits.request_remove]
    hidden = sorted({n for n, _ in edits.response_set} | set(edits.response_remove))
    block += [d("proxy_hide_header", n) for n in hidden]
    block += affinity.location_directives(upstream)
    block += scope.limit_directives()
    block += [d("add_header", n, v, "always") for n, v in edits.response_set]
    return d("location", *location["args"], block=_keep_request_id(block))


def _named(name: str, scope: limits.Scope, body: list[Directive]) -> Directive:
    block = [*scope.route_variable(), *scope.limit_directives(), *body]
    return d("location", name, block=_keep_request_id(block))


def _keep_request_id(block: list[Directive]) -> list[Directive]:
    """A location with its own `add_header` inherits none from the server: repeat X-Request-ID."""
    if any(d["directive"] == "add_header" for d in block):
        return [*block, d("add_header", "X-Request-ID", "$request_id", "always")]
    return block
