"""Small builders of valid specs for the nginx unit tests; each test changes only what it is about."""

from __future__ import annotations

import dataclasses
from typing import Any

from nginx.model import RouteSpec, ServerSpec, Snapshot, UpstreamSpec, VirtualServerSpec


def server(key: str = "1", address: str = "10.0.0.1", port: int = 8080, **changes: Any) -> ServerSpec:
    return ServerSpec(key=key, address=address, port=port, **changes)


def upstream(name: str = "web", algorithm: str = "round_robin", **changes: Any) -> UpstreamSpec:
    changes.setdefault("servers", (server("1", "10.0.0.1"), server("2", "10.0.0.2")))
    return UpstreamSpec(name=name, algorithm=algorithm, **changes)


def site(name: str = "shop", **changes: Any) -> VirtualServerSpec:
    values: dict[str, Any] = {
        "hostnames": ("shop.example.com",),
        "http_ports": (8080,),
        "default_upstream": "web",
    }
    values.update(changes)
    return VirtualServerSpec(name=name, **values)


def route(prefix: str = "/api/", target: str = "web", **changes: Any) -> RouteSpec:
    values: dict[str, Any] = {"priority": 10, "strip_prefix": True}
    values.update(changes)
    return RouteSpec(path_prefix=prefix, upstream=target, **values)


def snapshot(
    upstreams: tuple[UpstreamSpec, ...] | None = None, sites: tuple[VirtualServerSpec, ...] | None = None
) -> Snapshot:
    return Snapshot.build(
        upstreams if upstreams is not None else (upstream(),), sites if sites is not None else (site(),)
    )


def replace(obj: Any, **changes: Any) -> Any:
    return dataclasses.replace(obj, **changes)
