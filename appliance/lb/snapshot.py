"""Desired state in PostgreSQL → the compiler's frozen `Snapshot`, minus the objects that cannot load.

nginx refuses a whole config when one server's hostname does not resolve. So that one broken object
never blocks the others, such servers are left out (quarantined) with a visible reason instead.
Servers that active health checks took out of rotation render `down` (`appliance.health.rotation`).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

from appliance.health.rotation import Rotation
from appliance.lb.gateway_specs import site_rate_limits, site_routes, upstream_sticky
from appliance.lb.models import Server, Upstream, VirtualServer
from appliance.tls.snapshot import tls_spec
from nginx.model import RetryPolicy, ServerSpec, Snapshot, UpstreamSpec, VirtualServerSpec


@dataclass
class Quarantine:
    """Objects left out of a compile, each with the reason shown to the operator."""

    items: list[dict[str, object]] = field(default_factory=list)

    def add(self, kind: str, pk: int, name: str, error: str) -> None:
        self.items.append({"kind": kind, "id": pk, "name": name, "error": error})

    def ids(self, kind: str) -> set[int]:
        return {int(str(item["id"])) for item in self.items if item["kind"] == kind}


def resolution_error(address: str) -> str | None:
    """None if nginx will be able to resolve `address` at load time, else why not."""
    try:
        ipaddress.ip_address(address)
        return None
    except ValueError:
        pass
    try:
        socket.getaddrinfo(address, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return f"hostname {address!r} does not resolve ({exc})"
    return None


def server_spec(server: Server) -> ServerSpec:
    return ServerSpec(
        key=str(server.pk),
        address=server.address,
        port=server.port,
        weight=server.weight,
        max_fails=server.max_fails,
        fail_timeout_s=server.fail_timeout_s,
        max_conns=server.max_conns,
        backup=server.backup,
        state=server.state,
    )


def upstream_spec(upstream: Upstream, servers: list[ServerSpec]) -> UpstreamSpec:
    return UpstreamSpec(
        name=upstream.name,
        algorithm=upstream.algorithm,
        hash_key=upstream.hash_key or None,
        hash_key_name=upstream.hash_key_name or None,
        hash_consistent=upstream.hash_consistent,
        keepalive=upstream.keepalive,
        connect_timeout_ms=upstream.connect_timeout_ms,
        read_timeout_s=upstream.read_timeout_s,
        send_timeout_s=upstream.send_timeout_s,
        retry=RetryPolicy(
            conditions=tuple(upstream.retry_conditions),
            tries=upstream.retry_tries,
            timeout_s=upstream.retry_timeout_s,
            non_idempotent=upstream.retry_non_idempotent,
        ),
        servers=tuple(servers),
        sticky=upstream_sticky(upstream),
    )


def virtual_server_spec(vs: VirtualServer, usable: set[str]) -> VirtualServerSpec:
    default = vs.default_upstream.name if vs.default_upstream else None
    return VirtualServerSpec(
        name=vs.name,
        hostnames=tuple(vs.hostnames),
        http_ports=tuple(vs.http_ports),
        default_upstream=default if default in usable else None,
        routes=site_routes(vs, usable),
        rate_limits=site_rate_limits(vs),
        tls=tls_spec(vs),
    )


def build_snapshot(exclude: Quarantine | None = None) -> tuple[Snapshot, Quarantine]:
    """Read the desired state; servers that cannot resolve and objects in `exclude` are left out."""
    quarantine = Quarantine(list(exclude.items) if exclude else [])
    dropped_upstreams, dropped_vs = quarantine.ids("upstream"), quarantine.ids("virtual_server")
    upstreams = []
    rotation = Rotation.load()
    for upstream in Upstream.objects.select_related("sticky").prefetch_related("servers"):
        if upstream.pk in dropped_upstreams:
            continue
        members = []
        for server in upstream.servers.all():
            problem = resolution_error(server.address)
            if problem:
                quarantine.add("server", server.pk, f"{upstream.name}/{server}", problem)
            else:
                members.append(server_spec(server))
        upstreams.append(upstream_spec(upstream, rotation.apply(members)))
    usable = {u.name for u in upstreams}
    sites = [
        virtual_server_spec(vs, usable)
        for vs in VirtualServer.objects.select_related("default_upstream").prefetch_related(
            "routes__upstream", "routes__canary_upstream", "routes__rate_limits", "rate_limits"
        )
        if vs.pk not in dropped_vs
    ]
    return Snapshot.build(upstreams, sites), quarantine
