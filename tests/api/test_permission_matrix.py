"""Every endpoint x method x role (and anonymous), generated from one table: 2xx, 401 or 403.

Each row names the least role that may make the call; anonymous callers get 401, weaker roles 403, the
others the row's success status. Callers authenticate with API tokens of their role, so the matrix also
proves that a request acts with its token's role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from appliance.accounts import tokens
from appliance.accounts.roles import ROLE_NAMES, Role
from appliance.api_urls import router
from appliance.audit.models import AuditEvent
from tests.api.conftest import ROLES, Actor, World, bearer_client, make_actor

Fill = Callable[[World, Actor], Any]


@dataclass(frozen=True)
class Call:
    name: str
    method: str
    path: str  # `{id}` is filled in by `target`
    least: Role
    success: int | None  # None: any answer but 401/403 (a route without a row of its own)
    body: Fill | None = None
    target: Fill | None = None


def _crud(path: str, target: Fill, create: Fill, update: Fill) -> list[Call]:
    base, item = f"/api/v1/{path}/", f"/api/v1/{path}/{{id}}/"
    return [
        Call(f"{path}.list", "get", base, Role.VIEWER, 200),
        Call(f"{path}.create", "post", base, Role.OPERATOR, 201, create),
        Call(f"{path}.read", "get", item, Role.VIEWER, 200, target=target),
        Call(f"{path}.replace", "put", item, Role.OPERATOR, 200, update, target),
        Call(f"{path}.patch", "patch", item, Role.OPERATOR, 200, update, target),
        Call(f"{path}.delete", "delete", item, Role.OPERATOR, 204, target=target),
    ]


def _own_token(world: World, actor: Actor) -> int:
    return tokens.issue(actor.user, ROLE_NAMES[actor.role], "to revoke")[0].pk


def _other_user(world: World, actor: Actor) -> int:
    return make_actor("viewer", username="someone-else").user.pk


def _change_set(world: World, actor: Actor) -> dict[str, Any]:
    return {
        "operations": [
            {"op": "create", "resource": "upstreams", "data": {"name": "cs"}},
            {
                "op": "create",
                "resource": "servers",
                "data": {"upstream": "$0", "address": "10.0.0.1", "port": 80},
            },
        ]
    }


CALLS = [
    *_crud(
        "upstreams",
        lambda w, a: w.spare_upstream.pk,
        lambda w, a: {"name": "new-pool", "algorithm": "least_conn"},
        lambda w, a: {"name": "spare-renamed", "algorithm": "round_robin"},
    ),
    *_crud(
        "servers",
        lambda w, a: w.server.pk,
        lambda w, a: {"upstream": w.upstream.pk, "address": "127.0.0.1", "port": 9002},
        lambda w, a: {"upstream": w.upstream.pk, "address": "127.0.0.1", "port": 9003, "weight": 2},
    ),
    *_crud(
        "virtual-servers",
        lambda w, a: w.virtual_server.pk,
        lambda w, a: {"name": "new-site", "hostnames": ["new.test"], "http_ports": [18082]},
        lambda w, a: {"name": "site", "hostnames": ["site2.test"], "http_ports": [18081]},
    ),
    *_crud(
        "routes",
        lambda w, a: w.route.pk,
        lambda w, a: {
            "virtual_server": w.virtual_server.pk,
            "path_prefix": "/new",
            "upstream": w.upstream.pk,
        },
        lambda w, a: {"virtual_server": w.virtual_server.pk, "path_prefix": "/v2", "upstream": w.upstream.pk},
    ),
    Call("revisions.list", "get", "/api/v1/revisions/", Role.VIEWER, 200),
    Call(
        "revisions.read",
        "get",
        "/api/v1/revisions/{id}/",
        Role.VIEWER,
        200,
        target=lambda w, a: w.revision.pk,
    ),
    Call(
        "revisions.rollback",
        "post",
        "/api/v1/revisions/{id}/rollback/",
        Role.OPERATOR,
        201,
        target=lambda w, a: w.revision.pk,
    ),
    Call("change-sets.apply", "post", "/api/v1/change-sets/", Role.OPERATOR, 201, _change_set),
    Call("preview.run", "post", "/api/v1/preview/", Role.OPERATOR, 200, _change_set),
    Call("tokens.list", "get", "/api/v1/tokens/", Role.VIEWER, 200),
    Call("tokens.read", "get", "/api/v1/tokens/{id}/", Role.VIEWER, 200, target=_own_token),
    # Tokens below admin scope never manage credentials, whatever their user's role (CredentialPermission).
    Call(
        "tokens.create",
        "post",
        "/api/v1/tokens/",
        Role.ADMIN,
        201,
        lambda w, a: {"name": "ci", "role": "viewer"},
    ),
    Call("tokens.delete", "delete", "/api/v1/tokens/{id}/", Role.ADMIN, 204, target=_own_token),
    Call("tokens.revoke", "post", "/api/v1/tokens/{id}/revoke/", Role.ADMIN, 200, target=_own_token),
    Call("users.list", "get", "/api/v1/users/", Role.ADMIN, 200),
    Call(
        "users.create",
        "post",
        "/api/v1/users/",
        Role.ADMIN,
        201,
        lambda w, a: {"username": "newbie", "password": "a-long-enough-passphrase-7", "role": "operator"},
    ),
    Call("users.read", "get", "/api/v1/users/{id}/", Role.ADMIN, 200, target=_other_user),
    Call(
        "users.replace",
        "put",
        "/api/v1/users/{id}/",
        Role.ADMIN,
        200,
        lambda w, a: {"username": "someone-else", "role": "operator", "is_active": True},
        _other_user,
    ),
    Call(
        "users.patch",
        "patch",
        "/api/v1/users/{id}/",
        Role.ADMIN,
        200,
        lambda w, a: {"role": "operator"},
        _other_user,
    ),
    Call("audit-events.list", "get", "/api/v1/audit-events/", Role.ADMIN, 200),
    Call(
        "audit-events.read",
        "get",
        "/api/v1/audit-events/{id}/",
        Role.ADMIN,
        200,
        target=lambda w, a: AuditEvent.objects.create(actor="x", actor_kind="system", action="probe").pk,
    ),
    Call("schema.read", "get", "/api/v1/schema/", Role.VIEWER, 200),
    Call("docs.read", "get", "/api/v1/docs/", Role.VIEWER, 200),
    Call("root.read", "get", "/api/v1/", Role.VIEWER, 200),
]


def _routed() -> dict[tuple[str, str], type]:
    """(path template, method) → viewset, for every route of the v1 router (HEAD mirrors GET)."""
    routed = {}
    for pattern in router.urls:
        actions = getattr(pattern.callback, "actions", None)
        route = str(pattern.pattern)
        if not actions or "format" in route:
            continue
        path = "/api/v1/" + route.strip("^$").replace("(?P<pk>[^/.]+)", "{id}")
        routed |= {(path, method): pattern.callback.cls for method in actions if method != "head"}
    return routed


def _generic(path: str, method: str, viewset: type) -> Call:
    """A route without a row of its own: the role its viewset declares; any answer but 401/403 passes."""
    if method == "get":
        least = getattr(viewset, "read_role", Role.VIEWER)
    else:
        least = getattr(viewset, "required_role", Role.OPERATOR)
    target = (lambda w, a: 0) if "{id}" in path else None
    body = (lambda w, a: {}) if method != "get" else None
    return Call(
        f"{path.split('/')[3]}.{method}{'-item' if target else ''}", method, path, least, None, body, target
    )


EXPLICIT = {(c.path, c.method) for c in CALLS}
ALL_CALLS = CALLS + [_generic(p, m, v) for (p, m), v in sorted(_routed().items()) if (p, m) not in EXPLICIT]
CASES = [(call, role) for call in ALL_CALLS for role in ("anonymous", *ROLES)]


def expected(call: Call, role: str) -> set[int]:
    if role == "anonymous":
        return {401}
    if ROLE_NAMES[role] < call.least:
        return {403}
    return {call.success} if call.success else set(range(200, 500)) - {401, 403}


@pytest.mark.parametrize(("call", "role"), CASES, ids=[f"{c.name}-{r}" for c, r in CASES])
def test_permission_matrix(call: Call, role: str, world: World, actors: dict[str, Actor]) -> None:
    actor = actors[role] if role != "anonymous" else actors["admin"]
    client = actors[role].client if role != "anonymous" else bearer_client(None)
    path = call.path.format(id=call.target(world, actor)) if call.target else call.path
    body = call.body(world, actor) if call.body else None
    response = getattr(client, call.method)(path, body, format="json")
    assert response.status_code in expected(call, role), (path, response.content[:300])


def test_every_row_of_the_table_is_a_real_route() -> None:
    outside_router = {("/api/v1/schema/", "get"), ("/api/v1/docs/", "get"), ("/api/v1/", "get")}
    assert EXPLICIT - set(_routed()) == outside_router
