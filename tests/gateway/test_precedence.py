"""The reference matcher and the route allow-lists, without nginx (the other tests hold nginx to them)."""

from __future__ import annotations

import pytest

from nginx import routing
from nginx import validation as v
from nginx.gateway_model import RouteMatch, ValueMatch
from nginx.model import RouteSpec, VirtualServerSpec


def site(*routes: RouteSpec) -> VirtualServerSpec:
    return VirtualServerSpec("s", (), (80,), "web", routes=routes)


def test_priority_then_exact_prefix_regex_then_longer_then_more_conditions():
    regex = RouteSpec(10, "^/a", "r", key="1", match=RouteMatch(path_kind="regex"))
    short = RouteSpec(10, "/a", "short", key="2")
    long = RouteSpec(10, "/a/b", "long", key="3")
    exact = RouteSpec(10, "/a/b", "exact", key="4", match=RouteMatch(path_kind="exact"))
    picky = RouteSpec(10, "/a/b", "picky", key="5", match=RouteMatch(methods=("GET",)))
    first = RouteSpec(1, "/", "first", key="6", match=RouteMatch(host="only.test"))
    order = [r.upstream for _, r in routing.ordered(site(regex, short, long, exact, picky, first))]
    assert order == ["first", "exact", "picky", "long", "short", "r"]


@pytest.mark.parametrize(
    ("raw", "uri"),
    [("/a//b/./c", "/a/b/c"), ("/a/b/../c", "/a/c"), ("/%61pi/x?y=1", "/api/x"), ("/a/", "/a/"), ("", "/")],
)
def test_paths_are_normalized_like_nginx_uri(raw, uri):
    assert routing.normalize_path(raw) == uri


def test_header_cookie_and_query_names_are_case_blind_and_values_exact():
    route = RouteSpec(
        1,
        "/",
        "x",
        match=RouteMatch(
            header=ValueMatch("X-Tenant", "equals", "Beta"),
            cookie=ValueMatch("sid", "present"),
            query=ValueMatch("v", "regex", "^2"),
        ),
    )
    sample = routing.Sample(headers={"x-tenant": "Beta"}, cookies={"SID": "1"}, query={"V": "2x"})
    assert routing.matches(route, sample)
    assert not routing.matches(
        route, routing.Sample(headers={"x-tenant": "beta"}, cookies={"sid": "1"}, query={"v": "2"})
    )


@pytest.mark.parametrize(
    "pattern", ["a$", "a{2}", "(?P<n>a)", "\\1", "[[:alpha:]]", "(?x)a", "a b", "\\u0041", "x" * 257]
)
def test_route_regexes_outside_the_shared_subset_are_refused(pattern):
    with pytest.raises(ValueError):
        v.validate_route_regex(pattern)


def test_rewrites_keep_the_rest_of_the_path():
    assert routing.rewritten("/api", "/", "/api/x") == "/x"
    assert routing.rewritten("/api", "/", "/api") == "/"
    assert routing.rewritten("/api/", "/v2/", "/api/x") == "/v2/x"
