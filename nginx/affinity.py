"""Sticky sessions (session affinity) of an upstream.

- `cookie`: open-source nginx has no `sticky` directive, so a Lua balancer (`balancer_by_lua_block`,
  `nginx/lua/gateway.lua`) chooses the member. The LB issues a cookie naming the member by an opaque
  id, HMAC-SHA256 of `<upstream>/<address>:<port>` keyed by a per-installation secret (the cookie never
  shows the address; ids do not change on reloads or restarts, so bindings survive both). A client keeps
  its member while the member is `enabled` or `drain`; a `disabled` or unhealthy member loses its clients,
  and only its clients, to the others. New clients go to `enabled` members by weight (backups only when no
  primary is enabled); a retry after a failure moves the client to a member not tried yet.
- `client_ip` / `header`: `hash $remote_addr consistent` / `hash $http_<name> consistent` (ketama), so a
  member that leaves moves only its own clients. Bindings are computed, not remembered: `drain` acts
  like `disabled` here.

The balancer ignores `max_fails`, `max_conns` and the server lines' weights (it reads the members from
the gateway data); passive failover still retries the next member within `proxy_next_upstream_tries`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from nginx import validation as v
from nginx.directives import Directive, d
from nginx.model import UpstreamSpec

_BALANCE = ' require("lb.gateway").balance() '
_COOKIE = ' require("lb.gateway").sticky_cookie() '


def member_id(upstream: str, address: str, port: int, secret: str) -> str:
    """The opaque id a sticky cookie carries for one member (16 hex digits)."""
    endpoint = f"{upstream}/{v.normalize_address(address)}:{port}"
    return hmac.new(secret.encode(), endpoint.encode(), hashlib.sha256).hexdigest()[:16]


def uses_lua(upstream: UpstreamSpec) -> bool:
    return upstream.sticky is not None and upstream.sticky.kind == "cookie"


def balancing_directives(upstream: UpstreamSpec) -> list[Directive]:
    """What replaces the algorithm directive inside `upstream { }` (before `keepalive`, as Lua requires)."""
    sticky = upstream.sticky
    assert sticky is not None
    if sticky.kind == "cookie":
        return [{"directive": "balancer_by_lua_block", "args": [_BALANCE]}]
    if sticky.kind == "header" and sticky.header_name:
        return [d("hash", "$http_" + sticky.header_name.lower().replace("-", "_"), "consistent")]
    return [d("hash", "$remote_addr", "consistent")]


def location_directives(upstream: UpstreamSpec) -> list[Directive]:
    """A location proxying to a cookie-affine upstream names the pool for the balancer (`$proxy_host` is
    not set yet when the balancer runs) and issues the cookie from its header filter."""
    if not uses_lua(upstream):
        return []
    issue_cookie = {"directive": "header_filter_by_lua_block", "args": [_COOKIE]}
    return [d("set", "$lb_pool", upstream.name), issue_cookie]


def pool_data(upstream: UpstreamSpec) -> dict[str, Any]:
    """The members and cookie settings the Lua balancer reads."""
    sticky = upstream.sticky
    assert sticky is not None
    members = []
    for server in sorted(upstream.servers, key=lambda s: (s.address, s.port, s.key)):
        address = v.normalize_address(server.address)
        members.append(
            {
                "id": member_id(upstream.name, server.address, server.port, sticky.secret),
                "host": f"[{address}]" if ":" in address else address,
                "port": server.port,
                "weight": server.weight,
                "state": server.state,
                "backup": server.backup,
            }
        )
    cookie = {
        "name": sticky.cookie_name,
        "ttl": sticky.cookie_ttl_s,
        "path": sticky.cookie_path,
        "secure": sticky.cookie_secure,
        "http_only": sticky.cookie_http_only,
        "same_site": sticky.cookie_same_site,
    }
    return {"members": members, "cookie": cookie}
