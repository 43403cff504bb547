"""End to end over real HTTP (gunicorn) with a token: configure, see traffic, roll back, see it stop."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from appliance.accounts.roles import Role, set_role
from appliance.launcher.stack import Stack
from tests.support.lb import Backend, free_port, get, spread, wait_until


class HttpApi:
    """A JSON client for /api/v1/ sending `Authorization: Bearer <token>`, as a script would."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base, self.token = f"{base_url}/api/v1/", token

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        status, answer = self.call("POST", path, body)
        assert status == 201, (path, answer)
        return answer

    def wait_for_revision(self, carries: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The newest revision, once it `carries` the change and is applied on every node."""

        def newest_applied() -> dict[str, Any] | None:
            status, page = self.call("GET", "revisions/")
            assert status == 200
            newest = page["results"][0] if page["results"] else None
            assert newest is None or newest["status"] != "failed", newest
            return newest if newest and carries(newest) and newest["status"] == "applied" else None

        return wait_until(newest_applied, 30, "the revision to be applied", interval=0.2)


@pytest.fixture
def backends(dataplane: Stack) -> Iterator[list[Backend]]:
    started = [Backend(f"e2e-{i}", free_port(), dataplane.cfg.path("logs")).start() for i in (1, 2)]
    yield started
    for backend in started:
        backend.stop()


@pytest.fixture
def api(web: str, transactional_db: None) -> HttpApi:
    user = get_user_model().objects.create_user("automation")
    set_role(user, Role.OPERATOR)
    out = io.StringIO()
    call_command("issue_token", "automation", "--role", "operator", "--name", "e2e", stdout=out)
    return HttpApi(web, out.getvalue().strip())


def test_a_route_configured_over_http_serves_traffic_until_rolled_back(
    api: HttpApi, backends: list[Backend]
) -> None:
    api.create("upstreams/", {"name": "e2e-baseline"})
    baseline = api.wait_for_revision(lambda r: "e2e-baseline" in r["cause"])

    port = free_port()
    pool = api.create("upstreams/", {"name": "e2e-pool", "algorithm": "round_robin"})
    for backend in backends:
        api.create("servers/", {"upstream": pool["id"], "address": "127.0.0.1", "port": backend.port})
    site = api.create("virtual-servers/", {"name": "e2e-site", "hostnames": [], "http_ports": [port]})
    api.create(
        "routes/",
        {"virtual_server": site["id"], "path_prefix": "/shop", "upstream": pool["id"], "strip_prefix": True},
    )
    api.wait_for_revision(lambda r: "create route" in r["cause"])

    seen = spread(f"http://127.0.0.1:{port}/shop/cart", 40, threads=4)
    assert set(seen) == {"e2e-1", "e2e-2"} and sum(seen.values()) == 40, seen
    hits = [backend.hits() for backend in backends]
    assert sum(hits) == 40 and min(hits) >= 5, hits

    status, rolled = api.call("POST", f"revisions/{baseline['id']}/rollback/")
    assert status == 201 and rolled["rollback_of"] == baseline["number"]
    api.wait_for_revision(lambda r: r["number"] == rolled["number"])

    with pytest.raises(ConnectionRefusedError):
        get(f"http://127.0.0.1:{port}/shop/cart")
    assert [backend.hits() for backend in backends] == hits
