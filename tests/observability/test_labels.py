"""Label values are the configuration's own spelling, escaped for Prometheus where they need it."""

from __future__ import annotations

import urllib.request

from nginx.gateway_model import RouteMatch
from nginx.model import RouteSpec, ServerSpec, Snapshot, UpstreamSpec, VirtualServerSpec
from tests.observability.conftest import promtool_check, samples, select
from tests.support.lb import free_port, wait_until

PATTERN = r"^/v[12]/\d+"


def test_a_regex_route_is_counted_under_its_pattern_escaped_for_prometheus(standalone_node, promtool):
    port = free_port()
    upstream = UpstreamSpec(
        "web", "round_robin", servers=(ServerSpec("1", "127.0.0.1", standalone_node.backend.port),)
    )
    route = RouteSpec(1, PATTERN, "web", key="7", match=RouteMatch(path_kind="regex"))
    standalone_node.apply(
        Snapshot.build([upstream], [VirtualServerSpec("site", (), (port,), "web", routes=(route,))])
    )
    for path in ("/v1/123", "/v2/7", "/v3/7"):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            assert response.status == 200

    def counted():  # type: ignore[no-untyped-def]
        text = standalone_node.metrics()
        found = {dict(k)["route"]: v for k, v in select(samples(text), "lb_requests_total").items()}
        return (text, found) if sum(found.values()) == 3 else None

    text, found = wait_until(counted, 10, "three requests counted")
    assert found == {PATTERN: 2, "/": 1}
    assert 'route="^/v[12]/\\\\d+"' in text  # the backslash doubled in the exposition format
    check = promtool_check(text)
    assert check.returncode == 0, check.stdout + check.stderr
