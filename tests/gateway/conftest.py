"""Gateway tests: real nginx, real backends (`loadtests.backend`), objects created through the REST API.

Re-exports the `pools` fixture of the integration suite; `gateway` builds upstreams and one catch-all
virtual server and sends requests that carry hosts, methods, headers, cookies and source addresses.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.test import APIClient

from appliance.lb import services
from appliance.lb.models import Server, Upstream, VirtualServer
from tests.integration.conftest import Pools, pools  # noqa: F401  (re-exported fixture)
from tests.support.lb import free_port


@dataclass
class Answer:
    status: int
    backend: str
    body: str
    headers: http.client.HTTPMessage


@dataclass
class Gateway:
    """Upstreams (one backend each unless told) behind one catch-all virtual server, and an API client."""

    pools: Pools
    api: APIClient
    port: int = field(default_factory=free_port)
    site: VirtualServer | None = None

    def upstream(self, name: str, backends: int = 1, **options: int) -> Upstream:
        with transaction.atomic():
            upstream = Upstream.objects.create(name=name)
            for n in range(backends):
                label = name if backends == 1 else f"{name}-{n}"
                backend = self.pools.backend(label, **options)
                Server.objects.create(upstream=upstream, address="127.0.0.1", port=backend.port)
            services.mark_changed(f"test upstream {name}", "tests")
        return upstream

    def virtual_server(self, default: Upstream | None) -> VirtualServer:
        body = {
            "name": "gw",
            "http_ports": [self.port],
            "hostnames": [],
            "default_upstream": default and default.pk,
        }
        self.site = VirtualServer.objects.get(pk=self.post("/api/v1/virtual-servers/", body)["id"])
        return self.site

    def post(self, url: str, body: dict) -> dict:
        response = self.api.post(url, body, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    def route(self, **fields: object) -> dict:
        assert self.site is not None
        return self.post("/api/v1/routes/", {"virtual_server": self.site.pk, **fields})

    def live(self):  # type: ignore[no-untyped-def]
        revision = self.pools.wait()
        assert revision.status == "applied", revision.error
        return revision

    def request(
        self,
        path: str = "/",
        method: str = "GET",
        host: str = "gw.test",
        headers: dict[str, str] | None = None,
        source: str | None = None,
        conn: http.client.HTTPConnection | None = None,
    ) -> Answer:
        """One request (on `conn`, or a fresh connection from `source`)."""
        own = conn is None
        conn = conn or self.connection(source)
        try:
            conn.request(method, path, headers={"Host": host, **(headers or {})})
            response = conn.getresponse()
            body = response.read().decode()
            return Answer(response.status, response.getheader("X-Backend", ""), body, response.headers)
        finally:
            if own:
                conn.close()

    def connection(self, source: str | None = None) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=10, source_address=(source, 0) if source else None
        )


@pytest.fixture
def gateway(pools: Pools) -> Gateway:  # noqa: F811
    user = get_user_model().objects.create_superuser("gw-admin", password="x-very-long-password")
    client = APIClient()
    client.force_authenticate(user)
    return Gateway(pools, client)
