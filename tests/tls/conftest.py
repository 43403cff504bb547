"""Fixtures for TLS tests: a test PKI, an admin API client, and HTTPS sites built through the API.

Sites run on the session's real nginx node: an upstream with a real backend, a virtual server on a free
HTTP port, and a TLS binding (created with `POST /api/v1/tls-bindings/`) on a free HTTPS port.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.test import APIClient

from appliance.launcher.stack import Stack
from appliance.lb import services
from appliance.lb.models import Server, Upstream, VirtualServer
from tests.support.lb import Backend, free_port, wait_live
from tests.tls import pki


@pytest.fixture(scope="session")
def root_ca() -> pki.Issued:
    return pki.make_ca("LB test root")


@pytest.fixture(scope="session")
def intermediate(root_ca: pki.Issued) -> pki.Issued:
    return pki.make_ca("LB test intermediate", issuer=root_ca)


@pytest.fixture
def api(transactional_db: None) -> APIClient:
    user = get_user_model().objects.create_superuser("tls-admin", password="x-very-long-password")
    client = APIClient()
    client.force_authenticate(user)
    return client


@dataclass
class Site:
    name: str
    http_port: int
    https_port: int
    backend: Backend | None
    binding: dict[str, Any]


@dataclass
class Sites:
    """Builds HTTPS sites on the real data plane and waits until nginx serves them."""

    stack: Stack
    api: APIClient
    started: list[Backend] = field(default_factory=list)

    def backend(self, name: str, **options: int) -> Backend:
        backend = Backend(name, free_port(), self.stack.cfg.path("logs"), **options).start()
        self.started.append(backend)
        return backend

    def upload(self, name: str, issued: pki.Issued) -> int:
        body = {"name": name, "chain_pem": issued.chain_pem, "private_key": issued.key_pem}
        response = self.api.post("/api/v1/certificates/upload/", body, format="json")
        assert response.status_code == 201, response.json()
        return int(response.json()["id"])

    def site(
        self,
        name: str,
        hostnames: list[str],
        certificates: list[int],
        backend: Backend | None = None,
        upstream_port: int | None = None,
        upstream_options: dict[str, Any] | None = None,
        **binding: Any,
    ) -> Site:
        """A site proxying to `backend` (started if not given) or to whatever listens on `upstream_port`."""
        if upstream_port is None:
            backend = backend or self.backend(name)
            upstream_port = backend.port
        http_port, https_port = free_port(), free_port()
        with transaction.atomic():
            upstream = Upstream.objects.create(name=name, **(upstream_options or {}))
            Server.objects.create(upstream=upstream, address="127.0.0.1", port=upstream_port)
            vs = VirtualServer.objects.create(
                name=name, hostnames=hostnames, http_ports=[http_port], default_upstream=upstream
            )
            services.mark_changed(f"test site {name}", "tests")
        body = {"virtual_server": vs.pk, "https_ports": [https_port], "certificates": certificates, **binding}
        response = self.api.post("/api/v1/tls-bindings/", body, format="json")
        assert response.status_code == 201, response.json()
        self.wait()
        return Site(name, http_port, https_port, backend, response.json())

    def site_without_tls(self, name: str, hostnames: list[str], backend: Backend, http_port: int) -> int:
        """A plain HTTP virtual server (e.g. the one answering ACME challenges); returns its id."""
        with transaction.atomic():
            upstream = Upstream.objects.create(name=name)
            Server.objects.create(upstream=upstream, address="127.0.0.1", port=backend.port)
            vs = VirtualServer.objects.create(
                name=name, hostnames=hostnames, http_ports=[http_port], default_upstream=upstream
            )
            services.mark_changed(f"test site {name}", "tests")
        self.wait()
        return int(vs.pk)

    def wait(self, timeout: float = 30.0):  # type: ignore[no-untyped-def]
        revision = wait_live([node.status_url for node in self.stack.nodes], timeout)
        assert revision.status == "applied", revision.error
        return revision


@pytest.fixture
def sites(dataplane: Stack, api: APIClient) -> Iterator[Sites]:
    helper = Sites(dataplane, api)
    yield helper
    for backend in helper.started:
        backend.stop()
