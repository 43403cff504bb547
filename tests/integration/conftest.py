"""Fixtures for data-plane integration tests: real backends and upstream pools built through the services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django.db import transaction

from appliance.launcher.stack import Stack
from appliance.lb import services
from appliance.lb.models import Server, Upstream, VirtualServer
from tests.support.lb import Backend, free_port, wait_live


@dataclass
class Pools:
    """Builds upstreams + a virtual server in PostgreSQL and waits until nginx serves them."""

    stack: Stack
    started: list[Backend] = field(default_factory=list)

    @property
    def status_urls(self) -> list[str]:
        return [node.status_url for node in self.stack.nodes]

    def backend(self, name: str, **options: int) -> Backend:
        backend = Backend(name, free_port(), self.stack.cfg.path("logs"), **options).start()
        self.started.append(backend)
        return backend

    def pool(
        self,
        name: str,
        backends: list[Backend],
        weights: list[int] | None = None,
        backup: list[bool] | None = None,
        **upstream_fields: object,
    ) -> str:
        """Upstream `name` over `backends` behind a catch-all virtual server; returns its URL."""
        port = free_port()
        with transaction.atomic():
            upstream = Upstream.objects.create(name=name, **upstream_fields)
            for i, backend in enumerate(backends):
                Server.objects.create(
                    upstream=upstream,
                    address="127.0.0.1",
                    port=backend.port,
                    weight=(weights or [1] * len(backends))[i],
                    backup=(backup or [False] * len(backends))[i],
                )
            VirtualServer.objects.create(name=f"vs-{name}", http_ports=[port], default_upstream=upstream)
            services.mark_changed(f"test pool {name}", "tests")
        self.wait()
        return f"http://127.0.0.1:{port}"

    def wait(self, timeout: float = 20.0):  # type: ignore[no-untyped-def]
        return wait_live(self.status_urls, timeout)


@pytest.fixture
def pools(dataplane: Stack, transactional_db: None) -> Iterator[Pools]:
    helper = Pools(dataplane)
    yield helper
    for backend in helper.started:
        backend.stop()
