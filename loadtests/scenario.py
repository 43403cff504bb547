"""Building blocks of benchmark scenarios: an upstream pool of real backends behind a virtual server."""

from __future__ import annotations

from dataclasses import dataclass

from loadtests.harness import Backend, free_port, node_revision, wait_until


@dataclass
class Pool:
    url: str
    backends: list[Backend]

    @classmethod
    def create(cls, stack, name: str, backends: int, **upstream_fields: object) -> Pool:  # type: ignore[no-untyped-def]
        started = [
            Backend(f"{name}{i}", free_port(), stack.cfg.path("logs")).start() for i in range(backends)
        ]
        stack.running.extend(started)
        return cls(publish_pool(stack, name, [b.port for b in started], **upstream_fields), started)


def publish_pool(stack, name: str, ports: list[int], **upstream_fields: object) -> str:  # type: ignore[no-untyped-def]
    """Upstream `name` over loopback `ports` behind a new virtual server, live; returns its URL."""
    from django.db import transaction

    from appliance.lb import services
    from appliance.lb.models import Server, Upstream, VirtualServer

    port = free_port()
    with transaction.atomic():
        upstream = Upstream.objects.create(name=name, **upstream_fields)
        for backend_port in ports:
            Server.objects.create(upstream=upstream, address="127.0.0.1", port=backend_port)
        VirtualServer.objects.create(name=name, http_ports=[port], default_upstream=upstream)
        services.mark_changed(f"benchmark pool {name}", "bench")

    wait_live(stack, 30, f"benchmark pool {name}")
    return f"http://127.0.0.1:{port}/"


def wait_live(stack, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    """Until the newest revision is applied and the node serves it; a revision that failed raises."""
    from appliance.lb.models import ConfigRevision

    def live() -> bool:
        latest = ConfigRevision.objects.order_by("-number").first()
        if latest is not None and latest.status == "failed":
            raise RuntimeError(f"{what} did not apply: {latest.error}")
        return bool(
            latest
            and latest.status == "applied"
            and node_revision(stack.nodes[0].status_url) == latest.number
        )

    wait_until(live, timeout, f"{what} live")
