"""Content-aware routing: every request of a table reaches the upstream its conditions choose (measured at
the backend that answers), and the API's matcher names the same route."""

from __future__ import annotations

import pytest

from appliance.lb.models import Route

# (name, method, host, path, headers, expected: upstream (X-Backend) | "status <code> <detail>", path seen)
TABLE = [
    ("plain path goes to the default", "GET", "gw.test", "/anything", {}, "web", "/anything"),
    ("api GET strips the prefix", "GET", "gw.test", "/api/orders?id=7", {}, "api", "/orders?id=7"),
    ("api POST goes to the writer", "POST", "gw.test", "/api/orders", {}, "writer", "/api/orders"),
    ("api DELETE matches neither method", "DELETE", "gw.test", "/api/orders", {}, "web", "/api/orders"),
    ("prefix matches whole segments", "GET", "gw.test", "/apis", {}, "web", "/apis"),
    ("the bare prefix matches", "GET", "gw.test", "/api", {}, "api", "/"),
    ("lower priority number wins over header", "GET", "gw.test", "/api/x", {"X-Tenant": "beta"}, "api", "/x"),
    ("header equals", "GET", "gw.test", "/shop", {"X-Tenant": "beta"}, "beta", "/shop"),
    ("header equals is exact", "GET", "gw.test", "/shop", {"X-Tenant": "betamax"}, "web", "/shop"),
    ("header regex", "GET", "gw.test", "/shop", {"X-Version": "v2.1"}, "v2", "/shop"),
    (
        "header regex is anchored by the pattern",
        "GET",
        "gw.test",
        "/shop",
        {"X-Version": "xv2"},
        "web",
        "/shop",
    ),
    ("cookie equals", "GET", "gw.test", "/shop", {"Cookie": "a=1; flavor=dark"}, "dark", "/shop"),
    ("cookie other value", "GET", "gw.test", "/shop", {"Cookie": "flavor=light"}, "web", "/shop"),
    ("query present", "GET", "gw.test", "/shop?debug=1&x=2", {}, "debug", "/shop?debug=1&x=2"),
    ("query empty is not present", "GET", "gw.test", "/shop?debug=", {}, "web", "/shop?debug="),
    ("wildcard host", "GET", "ops.admin.test", "/users", {}, "admin", "/users"),
    ("wildcard host needs a label", "GET", "admin.test", "/users", {}, "web", "/users"),
    ("host ignores case and port", "GET", "OPS.Admin.Test:8080", "/users", {}, "admin", "/users"),
    ("rewrite prefix", "GET", "gw.test", "/static/css/a.css", {}, "static", "/assets/css/a.css"),
    ("exact path, fixed response", "GET", "gw.test", "/health", {}, "status 200 ok", ""),
    ("exact path is exact", "GET", "gw.test", "/health/deep", {}, "web", "/health/deep"),
    ("regex path, fixed response", "GET", "gw.test", "/index.php", {}, "status 403 no php", ""),
    ("regex path needs its anchor", "GET", "gw.test", "/index.php/x", {}, "web", "/index.php/x"),
    ("redirect", "GET", "gw.test", "/old/page", {}, "status 301 https://new.example.com/", ""),
    (
        "host beats header at equal priority by conditions",
        "GET",
        "a.admin.test",
        "/s",
        {"X-Both": "1"},
        "both",
        "/s",
    ),
]


@pytest.fixture
def routed(gateway):
    ups = {
        n: gateway.upstream(n)
        for n in ("web", "api", "writer", "beta", "v2", "dark", "debug", "admin", "static", "both")
    }
    gateway.virtual_server(ups["web"])
    gateway.route(
        priority=10, path_prefix="/api", methods=["GET", "HEAD"], upstream=ups["api"].pk, strip_prefix=True
    )
    gateway.route(priority=10, path_prefix="/api", methods=["POST"], upstream=ups["writer"].pk)
    gateway.route(
        priority=15,
        path_prefix="/",
        header_name="X-Tenant",
        header_match="equals",
        header_value="beta",
        upstream=ups["beta"].pk,
    )
    gateway.route(
        priority=16,
        path_prefix="/",
        header_name="X-Version",
        header_match="regex",
        header_value=r"^v2(\.|\Z)",
        upstream=ups["v2"].pk,
    )
    gateway.route(
        priority=17,
        path_prefix="/",
        cookie_name="flavor",
        cookie_match="equals",
        cookie_value="dark",
        upstream=ups["dark"].pk,
    )
    gateway.route(
        priority=18, path_prefix="/", query_name="debug", query_match="present", upstream=ups["debug"].pk
    )
    gateway.route(priority=20, path_prefix="/", host="*.admin.test", upstream=ups["admin"].pk)
    gateway.route(
        priority=20,
        path_prefix="/",
        host="*.admin.test",
        header_name="X-Both",
        header_match="present",
        upstream=ups["both"].pk,
    )
    gateway.route(priority=10, path_prefix="/static/", rewrite_prefix="/assets/", upstream=ups["static"].pk)
    gateway.route(
        priority=5,
        path_kind="exact",
        path_prefix="/health",
        action="respond",
        respond_status=200,
        respond_body="ok",
    )
    gateway.route(
        priority=30,
        path_kind="regex",
        path_prefix=r"\.php\Z",
        action="respond",
        respond_status=403,
        respond_body="no php",
    )
    gateway.route(
        priority=40,
        path_prefix="/old",
        action="redirect",
        redirect_status=301,
        redirect_url="https://new.example.com/",
    )
    gateway.live()
    return gateway


def test_every_request_of_the_table_reaches_the_expected_upstream_and_the_matcher_agrees(routed):
    assert len(TABLE) >= 20
    upstream_of_route = {r.pk: (r.upstream.name if r.upstream else None) for r in Route.objects.all()}
    for name, method, host, path, headers, expected, seen_path in TABLE:
        answer = routed.request(path, method, host, headers)
        if expected.startswith("status "):
            _, status, detail = expected.split(" ", 2)
            assert answer.status == int(status), name
            assert detail in (answer.body if status != "301" else answer.headers["Location"]), name
        else:
            assert (answer.status, answer.backend) == (200, expected), name
            assert answer.body == f"{expected} {method} {seen_path}", name
        decision = _match(routed, method, host, path, headers)
        if expected.startswith("status "):
            assert decision["action"] == {"200": "respond", "403": "respond", "301": "redirect"}[status], name
        else:
            assert decision["upstream"] == expected, (name, decision)
            chosen = decision["route"]
            assert chosen is None or upstream_of_route[chosen] == expected, name
            assert decision["path"] == seen_path.split("?")[0], name


def _match(gateway, method, host, path, headers) -> dict:
    path_only, _, query = path.partition("?")
    cookies = dict(p.strip().split("=", 1) for p in headers.get("Cookie", "").split(";") if "=" in p)
    body = {
        "virtual_server": gateway.site.pk,
        "method": method,
        "host": host,
        "path": path_only,
        "headers": {k: v for k, v in headers.items() if k != "Cookie"},
        "cookies": cookies,
        "query": dict(p.split("=", 1) for p in query.split("&") if "=" in p),
    }
    response = gateway.api.post("/api/v1/routes/match/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()
