"""Golden snapshots of the gateway features (issue #5): routes, canaries, header edits, affinity, limits."""

from __future__ import annotations

from nginx.gateway_model import (
    Canary,
    HeaderEdits,
    RateLimitSpec,
    RouteMatch,
    StickySpec,
    ValueMatch,
)
from nginx.model import RouteSpec, ServerSpec, Snapshot, UpstreamSpec, VirtualServerSpec

_API_KEY = RateLimitSpec(
    "api-key", rate=50, key="header", key_header="X-Api-Key", connections=20, exempt=("10.0.0.0/8", "::1")
)
_PER_IP = RateLimitSpec("per-ip", rate=600, unit="m", burst=20, nodelay=False, delay=5, retry_after_s=30)
_PER_ROUTE = RateLimitSpec("per-route", rate=1000, burst=100, key="route")

_ROUTES = (
    RouteSpec(
        10,
        "/api",
        "api",
        strip_prefix=True,
        key="1",
        match=RouteMatch(methods=("GET", "POST"), host="*.example.com"),
        canary=Canary(
            "api-next",
            weight=10,
            header="X-Canary",
            header_value="always",
            cookie="canary",
            cookie_value="yes",
        ),
        headers=HeaderEdits(
            request_set=(("X-Env", "prod"),),
            request_remove=("Authorization",),
            response_set=(("Cache-Control", "no-store"),),
            response_remove=("Server",),
        ),
        rate_limits=(_API_KEY,),
    ),
    RouteSpec(
        20,
        "/",
        "web",
        key="2",
        match=RouteMatch(
            header=ValueMatch("X-Tenant", "regex", r"^beta(-[a-z]+)?\Z"),
            cookie=ValueMatch("flavor", "equals", "dark"),
            query=ValueMatch("debug", "present"),
        ),
        rewrite_prefix="/v2/",
    ),
    RouteSpec(
        5, "/health", None, key="3", action="respond", respond_body="ok", match=RouteMatch(path_kind="exact")
    ),
    RouteSpec(
        30,
        r"\.php\Z",
        None,
        key="4",
        action="respond",
        respond_status=403,
        match=RouteMatch(path_kind="regex"),
    ),
    RouteSpec(
        40,
        "/old",
        None,
        key="5",
        action="redirect",
        redirect_status=308,
        redirect_url="https://example.com/new",
    ),
    RouteSpec(50, "/reports", "web", key="6", rate_limits=(_PER_ROUTE,)),
)

GATEWAY_CASES: dict[str, Snapshot] = {
    "gateway_routes": Snapshot.build(
        [
            UpstreamSpec("web", "round_robin", servers=(ServerSpec("1", "10.0.0.1", 8080),)),
            UpstreamSpec(
                "api",
                "round_robin",
                servers=(ServerSpec("2", "10.0.1.1", 8080), ServerSpec("3", "10.0.1.2", 8080, state="drain")),
                sticky=StickySpec("cookie", secret="golden", cookie_ttl_s=3600, cookie_secure=True),
            ),
            UpstreamSpec(
                "api-next",
                "round_robin",
                servers=(ServerSpec("4", "10.0.2.1", 8080),),
                sticky=StickySpec("client_ip"),
            ),
        ],
        [
            VirtualServerSpec(
                "shop", ("shop.example.com",), (8080,), "web", routes=_ROUTES, rate_limits=(_PER_IP,)
            )
        ],
    ),
    "gateway_limits_and_affinity": Snapshot.build(
        [
            UpstreamSpec(
                "cart",
                "round_robin",
                servers=(ServerSpec("1", "10.0.0.1", 8080), ServerSpec("2", "10.0.0.2", 8080)),
                sticky=StickySpec(
                    "cookie", secret="golden", cookie_name="cart_id", cookie_same_site="Strict"
                ),
            ),
            UpstreamSpec(
                "tenants",
                "round_robin",
                servers=(ServerSpec("3", "10.0.0.3", 8080),),
                sticky=StickySpec("header", header_name="X-Tenant-Id"),
            ),
        ],
        [
            VirtualServerSpec("cart", ("cart.example.com",), (8080,), "cart"),
            VirtualServerSpec(
                "tenants", ("t.example.com",), (8080,), "tenants", rate_limits=(_PER_IP, _API_KEY)
            ),
        ],
    ),
}
