"""Health and rotation as Prometheus families, read from `appliance.health` at scrape time.

`lb_upstream_server_up` says whether nginx sends a server new requests: its administrative state is
`enabled`, the compile did not quarantine it, and health did not take it out of rotation (with the same
`rotation.plan` the compile uses, so a failing-open upstream keeps its unhealthy servers up). Servers are
labelled `address:port` (IPv6 in brackets), like the data plane's `server` label.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from appliance.health import rotation
from appliance.health.choices import HealthStatus
from appliance.health.models import HealthState
from appliance.lb.models import Server
from nginx.validation import normalize_address


def endpoint(address: str, port: int) -> str:
    host = normalize_address(address)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def health_families() -> Iterator[Metric]:
    servers = {
        s.pk: (s.upstream.name, endpoint(s.address, s.port))
        for s in Server.objects.select_related("upstream")
    }
    up = GaugeMetricFamily(
        "lb_upstream_server_up",
        "1 if nginx sends the server new requests, else 0.",
        labels=["upstream", "server"],
    )
    fail_open = GaugeMetricFamily(
        "lb_upstream_fail_open",
        "1 if every enabled server is unhealthy and all stay in rotation.",
        labels=["upstream"],
    )
    in_rotation: set[int] = set()
    by_upstream = rotation.members_by_upstream()
    for members in by_upstream.values():
        plan = rotation.plan(members)
        in_rotation.update(int(m.key) for m in members if m.enabled and m.key not in plan.out)
        if members:
            fail_open.add_metric([servers[int(members[0].key)][0]], 1 if plan.fail_open else 0)
    for pk, (upstream, address) in sorted(servers.items(), key=lambda item: item[1]):
        up.add_metric([upstream, address], 1 if pk in in_rotation else 0)
    yield from (up, fail_open, *_check_families(servers))


def _check_families(servers: dict[int, tuple[str, str]]) -> Iterator[Metric]:
    status = GaugeMetricFamily(
        "lb_health_status",
        "Health-check status of each checked server (1 for its current status).",
        labels=["upstream", "server", "status"],
    )
    transitions = CounterMetricFamily(
        "lb_health_transitions", "Health status changes of each server.", labels=["upstream", "server"]
    )
    rows = HealthState.objects.exclude(next_check_at=None).values_list(
        "server_id", "status", "transition_count"
    )
    for server_id, current, count in sorted(rows):
        if server_id not in servers:
            continue
        labels = list(servers[server_id])
        for choice in HealthStatus.values:
            status.add_metric([*labels, choice], 1 if choice == current else 0)
        transitions.add_metric(labels, count)
    yield from (status, transitions)
