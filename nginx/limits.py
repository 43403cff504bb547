"""Rate limiting and connection throttling: `limit_req` / `limit_conn` zones, keys, exemptions.

Every attachment of a policy has its own shared-memory zone, so a policy attached to a virtual server
counts all of that site's requests together, and one attached to a route counts that route's:

    geo $lb_exempt_<policy> { default 0; <cidr> 1; ... }         exempt clients (if any CIDR)
    map ... $lb_key_<policy> { ... }                              the key; "" (never counted) if exempt
    limit_req_zone  $lb_key_<policy> zone=lb_req.<policy>.<site>[.<route>]:<size> rate=<n>r/s|r/m;
    limit_conn_zone $lb_key_<policy> zone=lb_conn.<policy>.<site>[.<route>]:<size>;

Keys: the client address (`$binary_remote_addr`), a request header (requests without it are counted
by client address, so leaving the header out does not escape the limit), or the route (`$lb_route`,
set in each location: every route's requests share one bucket). The limit's own answers carry
`Retry-After`, chosen by `$limit_req_status` / `$limit_conn_status` so that upstream answers are left
alone. Zones live in each node's shared memory: limits are per data-plane node.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nginx.directives import Directive, d
from nginx.gateway_model import RateLimitSpec
from nginx.model import Snapshot

ZONE_SIZE = "2m"  # ~16k client addresses per zone; the least recently used entries are evicted


def _variable(name: str) -> str:
    return name.replace("-", "_")


def key_variable(policy: RateLimitSpec) -> str:
    return f"$lb_key_{_variable(policy.name)}"


@dataclass(frozen=True)
class Scope:
    """The limits of one location: the route's own policies, and the site's."""

    site: str
    route: str  # route id, or "default"
    route_policies: tuple[RateLimitSpec, ...] = ()
    site_policies: tuple[RateLimitSpec, ...] = ()

    def zones(self) -> list[tuple[RateLimitSpec, str]]:
        """(policy, zone suffix) of every policy that applies here, the route's own first."""
        own = [(p, f"{p.name}.{self.site}.{self.route}") for p in self.route_policies]
        return own + [(p, f"{p.name}.{self.site}") for p in self.site_policies]

    def route_variable(self) -> list[Directive]:
        """`set $lb_route <id>` when a policy here counts by route."""
        if any(p.key == "route" for p, _ in self.zones()):
            return [d("set", "$lb_route", self.route)]
        return []

    def limit_directives(self) -> list[Directive]:
        """limit_req / limit_conn with their statuses and the Retry-After of their own answers."""
        zones = self.zones()
        requests = [(p, z) for p, z in zones if p.rate]
        connections = [(p, z) for p, z in zones if p.connections]
        out = [_limit_req(p, z) for p, z in requests]
        if requests:
            out.append(d("limit_req_status", str(requests[0][0].rate_status)))
        out += [d("limit_conn", f"lb_conn.{z}", str(p.connections)) for p, z in connections]
        if connections:
            out.append(d("limit_conn_status", str(connections[0][0].conn_status)))
        if requests or connections:
            after = (
                max((p.retry_after_s for p, _ in requests), default=0),
                max((p.retry_after_s for p, _ in connections), default=0),
            )
            out.append(d("add_header", "Retry-After", f"$lb_retry_after_{after[0]}_{after[1]}", "always"))
        return out


def _limit_req(policy: RateLimitSpec, zone: str) -> Directive:
    args = [f"zone=lb_req.{zone}"]
    if policy.burst:
        args.append(f"burst={policy.burst}")
        if policy.nodelay:
            args.append("nodelay")
        elif policy.delay:
            args.append(f"delay={policy.delay}")
    return d("limit_req", *args)


def scopes(snapshot: Snapshot) -> list[Scope]:
    """Every location scope that has limits, in a stable order."""
    from nginx import routing  # routing renders locations with Scope; keep imports one-way at load time

    out = []
    for vs in snapshot.virtual_servers:
        for rid, route in routing.ordered(vs):
            out.append(Scope(vs.name, rid, route.rate_limits, vs.rate_limits))
        out.append(Scope(vs.name, "default", (), vs.rate_limits))
    return [s for s in out if s.route_policies or s.site_policies]


def http_directives(snapshot: Snapshot) -> list[Directive]:
    """http context: exemptions, keys, zones and Retry-After maps for every limit in use."""
    used = scopes(snapshot)
    policies = {p.name: p for s in used for p, _ in s.zones()}
    out: list[Directive] = []
    for name in sorted(policies):
        out += _key_directives(policies[name])
    zones = sorted({(z, p) for s in used for p, z in s.zones()}, key=lambda item: item[0])
    for zone, policy in zones:
        if policy.rate:
            rate = f"{policy.rate}r/{policy.unit}"
            out.append(
                d("limit_req_zone", key_variable(policy), f"zone=lb_req.{zone}:{ZONE_SIZE}", f"rate={rate}")
            )
        if policy.connections:
            out.append(d("limit_conn_zone", key_variable(policy), f"zone=lb_conn.{zone}:{ZONE_SIZE}"))
    out += _retry_after_maps(used)
    return out


def _key_directives(policy: RateLimitSpec) -> list[Directive]:
    name = _variable(policy.name)
    if policy.key == "header" and policy.key_header:
        header = "$http_" + policy.key_header.lower().replace("-", "_")
        base = f"$lb_keyed_{name}"
        out = [d("map", header, base, block=[d("", "$binary_remote_addr"), d("default", header)])]
    else:
        base = "$lb_route" if policy.key == "route" else "$binary_remote_addr"
        out = []
    if not policy.exempt:
        return [*out, d("map", base, key_variable(policy), block=[d("default", base)])]
    exempt = f"$lb_exempt_{name}"
    geo = [d("default", "0"), *(d(cidr, "1") for cidr in sorted(policy.exempt))]
    return [
        *out,
        d("geo", exempt, block=geo),
        d("map", exempt, key_variable(policy), block=[d("1", ""), d("default", base)]),
    ]


def _retry_after_maps(used: Iterable[Scope]) -> list[Directive]:
    pairs = set()
    for scope in used:
        for directive in scope.limit_directives():
            if directive["directive"] == "add_header":
                pairs.add(directive["args"][1])
    out = []
    for variable in sorted(pairs):
        req, conn = variable.rsplit("_", 2)[-2:]
        block = [d("~^REJECTED:", req), d("~:REJECTED", conn), d("default", "")]
        out.append(d("map", "$limit_req_status:$limit_conn_status", variable, block=block))
    return out
