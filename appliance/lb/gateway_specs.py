"""Routes and gateway policies in PostgreSQL → the compiler's specs, and the compiler's rules as field errors.

The model `clean()` methods build the same spec the compile will and run the compiler's own checks
(`nginx.gateway_checks`) on it, so the API, the UI and the compiler refuse exactly the same values, and
each error lands on the field the operator typed it in.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from django.utils.crypto import salted_hmac

from nginx import gateway_checks
from nginx.checks import Collector, CompileError
from nginx.gateway_model import Canary, HeaderEdits, RateLimitSpec, RouteMatch, StickySpec, ValueMatch
from nginx.model import RouteSpec, UpstreamSpec

if TYPE_CHECKING:
    from appliance.lb.models import RateLimitPolicy, Route, StickyPolicy, Upstream, VirtualServer

Errors = dict[str, list[str]]

# Where each compiler field path (after "route.") is typed in: the model field.
_ROUTE_FIELDS = {
    "header.name": "header_name",
    "header.op": "header_match",
    "header.value": "header_value",
    "cookie.name": "cookie_name",
    "cookie.op": "cookie_match",
    "cookie.value": "cookie_value",
    "query.name": "query_name",
    "query.op": "query_match",
    "query.value": "query_value",
    "canary.upstream": "canary_upstream",
    "canary.weight": "canary_weight",
    "canary.header": "canary_header",
    "canary.header_value": "canary_header_value",
    "canary.cookie": "canary_cookie",
    "canary.cookie_value": "canary_cookie_value",
    "headers.request_set": "request_headers",
    "headers.request_remove": "request_headers_remove",
    "headers.response_set": "response_headers",
    "headers.response_remove": "response_headers_remove",
}


def sticky_secret(upstream_name: str) -> str:
    """The HMAC key of an upstream's sticky member ids: stable per installation (Django's secret key)."""
    return salted_hmac("lb.sticky-member-id", upstream_name).hexdigest()


def _condition(name: str, op: str, value: str) -> ValueMatch | None:
    return ValueMatch(name, op, value) if name or op or value else None


def _edits(route: Route) -> HeaderEdits:
    return HeaderEdits(
        request_set=tuple(sorted(route.request_headers.items())),
        request_remove=tuple(route.request_headers_remove),
        response_set=tuple(sorted(route.response_headers.items())),
        response_remove=tuple(route.response_headers_remove),
    )


def _canary(route: Route) -> Canary | None:
    fields = (route.canary_weight, route.canary_header, route.canary_cookie, route.canary_upstream_id)
    if not any(fields):
        return None
    return Canary(
        upstream=route.canary_upstream.name if route.canary_upstream else "",
        weight=route.canary_weight,
        header=route.canary_header or None,
        header_value=route.canary_header_value or None,
        cookie=route.canary_cookie or None,
        cookie_value=route.canary_cookie_value or None,
    )


def route_spec(route: Route, policies: tuple[RateLimitSpec, ...] = ()) -> RouteSpec:
    forward = route.action == "forward"
    return RouteSpec(
        priority=route.priority,
        path_prefix=route.path_prefix,
        upstream=route.upstream.name if forward and route.upstream else None,
        strip_prefix=route.strip_prefix,
        key=str(route.pk) if route.pk else "",
        match=RouteMatch(
            host=route.host or None,
            path_kind=route.path_kind,
            methods=tuple(route.methods),
            header=_condition(route.header_name, route.header_match, route.header_value),
            cookie=_condition(route.cookie_name, route.cookie_match, route.cookie_value),
            query=_condition(route.query_name, route.query_match, route.query_value),
        ),
        action=route.action,
        rewrite_prefix=route.rewrite_prefix or None,
        canary=_canary(route) if forward else None,
        headers=_edits(route) if forward else HeaderEdits(),
        redirect_status=route.redirect_status,
        redirect_url=route.redirect_url or None,
        respond_status=route.respond_status,
        respond_body=route.respond_body,
        rate_limits=policies,
    )


def _collected(check: Any, *args: object) -> list[CompileError]:
    errors: list[CompileError] = []
    check(Collector("object", "object", errors), *args)
    return errors


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def route_errors(route: Route) -> Errors:
    errors: Errors = {}
    for field in ("request_headers", "response_headers"):
        value = getattr(route, field)
        if not (isinstance(value, dict) and all(isinstance(x, str) for kv in value.items() for x in kv)):
            _add(errors, field, "must be an object of header names to text values")
    for kind in ("header", "cookie", "query"):
        name, op = getattr(route, f"{kind}_name"), getattr(route, f"{kind}_match")
        if bool(name) != bool(op):
            _add(
                errors,
                f"{kind}_match" if name else f"{kind}_name",
                f"give the {kind} name and how it matches",
            )
    if route.action == "forward" and route.upstream_id is None:
        _add(errors, "upstream", "a forward route needs an upstream")
    if route.action == "forward" and not route.canary_upstream_id and _canary(route):
        _add(errors, "canary_upstream", "a canary needs an upstream")
    if errors:
        return errors
    names = {u.name for u in (route.upstream, route.canary_upstream) if u is not None}
    for error in _collected(gateway_checks.check_route, "route", route_spec(route), names):
        path = error.field.removeprefix("route.")
        _add(errors, _ROUTE_FIELDS.get(path, path), error.message)
    return errors


def sticky_spec(policy: StickyPolicy) -> StickySpec:
    return StickySpec(
        kind=policy.kind,
        secret=sticky_secret(policy.upstream.name) if policy.upstream_id else "",
        cookie_name=policy.cookie_name,
        cookie_ttl_s=policy.cookie_ttl_s,
        cookie_path=policy.cookie_path,
        cookie_secure=policy.cookie_secure,
        cookie_http_only=policy.cookie_http_only,
        cookie_same_site=policy.cookie_same_site,
        header_name=policy.header_name or None,
    )


def sticky_errors(policy: StickyPolicy) -> Errors:
    if policy.upstream_id is None:
        return {}
    upstream: Upstream = policy.upstream
    from appliance.lb.snapshot import server_spec

    spec = UpstreamSpec(
        name=upstream.name,
        algorithm=upstream.algorithm,
        hash_key=upstream.hash_key or None,
        servers=tuple(server_spec(s) for s in upstream.servers.all()) if upstream.pk else (),
    )
    errors: Errors = {}
    for error in _collected(gateway_checks.check_sticky, spec, sticky_spec(policy)):
        field = error.field.removeprefix("sticky.")
        _add(errors, "upstream" if field.startswith("servers[") else field, error.message)
    return errors


def rate_limit_spec(policy: RateLimitPolicy) -> RateLimitSpec:
    return RateLimitSpec(
        name=policy.name,
        rate=policy.rate,
        unit=policy.unit,
        burst=policy.burst,
        nodelay=policy.nodelay,
        delay=policy.delay,
        key=policy.key,
        key_header=policy.key_header or None,
        connections=policy.connections,
        rate_status=policy.rate_status,
        conn_status=policy.conn_status,
        retry_after_s=policy.retry_after_s,
        exempt=tuple(sorted(policy.exempt)),
    )


def rate_limit_errors(policy: RateLimitPolicy) -> Errors:
    if not isinstance(policy.exempt, list) or not all(isinstance(c, str) for c in policy.exempt):
        return {"exempt": ["must be a list of CIDRs"]}
    errors: Errors = {}
    for error in _collected(gateway_checks.check_policy, "policy", rate_limit_spec(policy)):
        _add(errors, error.field.removeprefix("policy."), error.message)
    return errors


def upstream_sticky(upstream: Upstream) -> StickySpec | None:
    """The upstream's affinity, if it has a policy (`sticky` is select_related by the snapshot)."""
    from appliance.lb.models import StickyPolicy

    try:
        return sticky_spec(upstream.sticky)
    except StickyPolicy.DoesNotExist:
        return None


def site_routes(vs: VirtualServer, usable: set[str]) -> tuple[RouteSpec, ...]:
    """The site's routes; a route forwarding to a left-out upstream is left out, a left-out canary dropped."""
    out = []
    for route in vs.routes.all():
        if route.action == "forward" and (route.upstream is None or route.upstream.name not in usable):
            continue
        spec = route_spec(route, tuple(rate_limit_spec(p) for p in route.rate_limits.all()))
        if spec.canary is not None and spec.canary.upstream not in usable:
            spec = dataclasses.replace(spec, canary=None)
        out.append(spec)
    return tuple(out)


def site_rate_limits(vs: VirtualServer) -> tuple[RateLimitSpec, ...]:
    return tuple(rate_limit_spec(p) for p in vs.rate_limits.all())
