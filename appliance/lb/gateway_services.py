"""Business rules of the gateway that are not configuration: which route would take a sample request."""

from __future__ import annotations

from typing import Any

from appliance.lb.models import Upstream, VirtualServer
from appliance.lb.snapshot import virtual_server_spec
from nginx import routing


def match_route(vs: VirtualServer, sample: dict[str, Any]) -> dict[str, Any]:
    """What nginx does with `sample` on `vs`, by the compiler's own precedence (`nginx.routing.match`).

    Reads the stored desired state, so it answers for the configuration the next revision carries.
    """
    spec = virtual_server_spec(vs, set(Upstream.objects.values_list("name", flat=True)))
    decision = routing.match(
        spec,
        routing.Sample(
            method=sample["method"],
            host=sample["host"],
            path=sample["path"],
            headers=sample["headers"],
            cookies=sample["cookies"],
            query=sample["query"],
        ),
    )
    route = decision.route
    return {
        "route": int(route.key) if route is not None and route.key.isdigit() else None,
        "action": decision.action,
        "upstream": decision.upstream,
        "path": decision.path,
        "canary_upstream": decision.canary_upstream,
        "canary_reason": decision.canary_reason,
        "canary_weight": decision.canary_weight,
    }
