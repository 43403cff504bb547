"""Fixtures for the REST API tests: one user and one API token per role, and a small configured world.

Requests go through the in-process `APIClient` with `Authorization: Bearer <token>`, exactly as automation
sends them, so authentication, role scoping and the audit log all take their real path.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.test import APIClient

from appliance.accounts import tokens
from appliance.accounts.roles import ROLE_NAMES, set_role
from appliance.lb.models import ConfigRevision, DesiredState, Route, Server, Upstream, VirtualServer
from tests.support.lb import node_revision, wait_until

ROLES = ("viewer", "operator", "admin")


@dataclass
class Actor:
    """A user holding `role`, with an API token of the same role and a client that sends it."""

    role: str
    user: object
    token: str
    client: APIClient


def bearer_client(token: str | None, address: str = "127.0.0.1") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def make_actor(role: str, username: str | None = None, token_role: str | None = None) -> Actor:
    """No password: hashing one costs ~0.4 s, and tokens are what these users sign in with."""
    user = get_user_model().objects.create_user(username or f"api-{role}")
    set_role(user, ROLE_NAMES[role])
    _, text = tokens.issue(user, ROLE_NAMES[token_role or role], f"{role} automation")
    return Actor(role, user, text, bearer_client(text))


@pytest.fixture
def actors(db: None) -> dict[str, Actor]:
    return {role: make_actor(role) for role in ROLES}


@dataclass
class World:
    upstream: Upstream
    spare_upstream: Upstream
    server: Server
    virtual_server: VirtualServer
    route: Route
    revision: ConfigRevision


def make_world() -> World:
    upstream = Upstream.objects.create(name="web")
    spare = Upstream.objects.create(name="spare")
    server = Server.objects.create(upstream=upstream, address="127.0.0.1", port=9001)
    vs = VirtualServer.objects.create(name="site", hostnames=["site.test"], http_ports=[18081])
    route = Route.objects.create(virtual_server=vs, path_prefix="/api", upstream=upstream)
    with connection.cursor() as cursor:  # the sequence rollbacks number from, so numbers never collide
        cursor.execute("SELECT nextval('lb_revision_number_seq')")
        number = cursor.fetchone()[0]
    revision = ConfigRevision.objects.create(
        number=number, files={"main.conf": "# test\n"}, checksum="0" * 64
    )
    return World(upstream, spare, server, vs, route, revision)


@pytest.fixture
def world(db: None) -> World:
    return make_world()


def settled(status_urls: list[str], timeout: float = 30.0) -> ConfigRevision | None:
    """Wait until every change is compiled and the newest revision (if any) is applied or failed."""

    def done() -> ConfigRevision | bool | None:
        state = DesiredState.objects.filter(pk=1).first()
        if state and state.compiled_generation < state.generation:
            return None
        latest = ConfigRevision.objects.order_by("-number").first()
        if latest is None:
            return True
        if latest.status == "pending":
            return None
        if latest.status == "applied" and any(node_revision(u) != latest.number for u in status_urls):
            return None
        return latest

    result = wait_until(done, timeout, "desired state compiled and the newest revision settled")
    return result if isinstance(result, ConfigRevision) else None
