"""EndpointSlices → the endpoints of one Service port, and the rule that maps an endpoint to a server state.

Pure functions: the watcher feeds them the raw slices it holds, the sync service stores the result.
A Service's endpoints are spread over any number of slices (on kubesim, one per replica), so every slice
labelled with the Service's name is joined; an address seen in two slices (while the controller moves it)
counts once, ready if either says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from appliance.lb.choices import ServerState

ADDRESS_TYPES = ("IPv4", "IPv6")  # FQDN slices name hosts nginx would resolve once at load: not used


@dataclass(frozen=True, order=True)
class EndpointView:
    address: str
    port: int
    target: str
    ready: bool
    serving: bool
    terminating: bool

    @property
    def key(self) -> tuple[str, int]:
        return self.address, self.port


def member_state(endpoint: EndpointView) -> str:
    """Terminating drains (in-flight requests finish, no new ones); not ready takes no traffic."""
    if endpoint.terminating:
        return ServerState.DRAIN
    return ServerState.ENABLED if endpoint.ready else ServerState.DISABLED


def _port(slice_obj: dict[str, Any], port_name: str) -> int | None:
    for port in slice_obj.get("ports") or []:
        if (port.get("name") or "") == port_name and port.get("port"):
            return int(port["port"])
    return None


def _view(endpoint: dict[str, Any], port: int) -> EndpointView | None:
    addresses = endpoint.get("addresses") or []
    if not addresses:
        return None
    conditions = endpoint.get("conditions") or {}
    # API semantics: an unset `ready` or `serving` means true, an unset `terminating` false.
    ready = conditions.get("ready") is not False
    return EndpointView(
        address=str(addresses[0]),
        port=port,
        target=str((endpoint.get("targetRef") or {}).get("name") or ""),
        ready=ready,
        serving=conditions.get("serving", ready) is not False,
        terminating=conditions.get("terminating") is True,
    )


def _merge(seen: EndpointView, other: EndpointView) -> EndpointView:
    return replace(
        seen,
        ready=seen.ready or other.ready,
        serving=seen.serving or other.serving,
        terminating=seen.terminating and other.terminating,
        target=seen.target or other.target,
    )


def endpoints_of(slices: Iterable[dict[str, Any]], port_name: str) -> list[EndpointView]:
    """The endpoints of the Service port named `port_name` ("" = unnamed), sorted by address and port."""
    found: dict[tuple[str, int], EndpointView] = {}
    for slice_obj in slices:
        if slice_obj.get("addressType") not in ADDRESS_TYPES:
            continue
        port = _port(slice_obj, port_name)
        if port is None:
            continue
        for raw in slice_obj.get("endpoints") or []:
            view = _view(raw, port)
            if view is not None:
                found[view.key] = _merge(found[view.key], view) if view.key in found else view
    return sorted(found.values())
