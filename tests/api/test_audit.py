"""The audit log: every mutation with before/after, every auth decision, and never a secret."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.test import Client

from appliance.accounts.models import ApiToken
from appliance.audit.models import AuditEvent
from appliance.audit.services import snapshot
from tests.api.conftest import Actor, World, bearer_client

SERVER = {"address": "127.0.0.1", "port": 9010}

# (method, path template, body, action, object type, before recorded, after recorded)
MUTATIONS = [
    ("post", "/api/v1/upstreams/", {"name": "new"}, "create", "lb.upstream", False, True),
    ("patch", "/api/v1/upstreams/{upstream}/", {"keepalive": 4}, "update", "lb.upstream", True, True),
    ("delete", "/api/v1/upstreams/{spare}/", None, "delete", "lb.upstream", True, False),
    ("post", "/api/v1/servers/", {"upstream": "{upstream}", **SERVER}, "create", "lb.server", False, True),
    (
        "put",
        "/api/v1/servers/{server}/",
        {"upstream": "{upstream}", **SERVER},
        "update",
        "lb.server",
        True,
        True,
    ),
    ("delete", "/api/v1/servers/{server}/", None, "delete", "lb.server", True, False),
    (
        "post",
        "/api/v1/virtual-servers/",
        {"name": "v2", "http_ports": [18100]},
        "create",
        "lb.virtualserver",
        False,
        True,
    ),
    (
        "patch",
        "/api/v1/virtual-servers/{vs}/",
        {"hostnames": ["b.test"]},
        "update",
        "lb.virtualserver",
        True,
        True,
    ),
    ("delete", "/api/v1/virtual-servers/{vs}/", None, "delete", "lb.virtualserver", True, False),
    (
        "post",
        "/api/v1/routes/",
        {"virtual_server": "{vs}", "path_prefix": "/x", "upstream": "{upstream}"},
        "create",
        "lb.route",
        False,
        True,
    ),
    ("patch", "/api/v1/routes/{route}/", {"priority": 5}, "update", "lb.route", True, True),
    ("delete", "/api/v1/routes/{route}/", None, "delete", "lb.route", True, False),
    ("post", "/api/v1/revisions/{revision}/rollback/", None, "rollback", "lb.configrevision", False, True),
    ("post", "/api/v1/tokens/", {"name": "t", "role": "viewer"}, "create", "accounts.apitoken", False, True),
    ("post", "/api/v1/tokens/{token}/revoke/", None, "revoke", "accounts.apitoken", True, True),
    ("delete", "/api/v1/tokens/{token}/", None, "revoke", "accounts.apitoken", True, True),
    (
        "post",
        "/api/v1/users/",
        {"username": "u", "password": "pass-phrase-long-1", "role": "viewer"},
        "create",
        "auth.user",
        False,
        True,
    ),
    ("patch", "/api/v1/users/{user}/", {"role": "operator"}, "update", "auth.user", True, True),
]


def _fill(value, ids: dict[str, int]):  # type: ignore[no-untyped-def]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value.format(**ids) if isinstance(value, str) else value


@pytest.mark.parametrize(("method", "path", "body", "action", "kind", "has_before", "has_after"), MUTATIONS)
def test_every_mutation_is_recorded_with_before_and_after(
    actors: dict[str, Actor], world: World, method, path, body, action, kind, has_before, has_after
) -> None:
    admin = actors["admin"]
    admin_token = ApiToken.objects.get(user=admin.user).pk
    ids = {
        "upstream": world.upstream.pk,
        "spare": world.spare_upstream.pk,
        "server": world.server.pk,
        "vs": world.virtual_server.pk,
        "route": world.route.pk,
        "revision": world.revision.pk,
        "token": ApiToken.objects.get(user=actors["viewer"].user).pk,
        "user": actors["viewer"].user.pk,
    }
    response = getattr(admin.client, method)(
        _fill(path, ids), _fill(body, ids), format="json", HTTP_X_REQUEST_ID="audit-test-0001"
    )
    assert response.status_code < 300, response.content
    event = AuditEvent.objects.get(request_id="audit-test-0001", action=action)
    assert (event.object_type, event.actor, event.actor_kind) == (kind, admin.user.username, "token")
    assert event.api_token == admin_token
    assert (event.before is not None, event.after is not None) == (has_before, has_after)
    assert event.client_ip == "127.0.0.1" and event.outcome == "success"
    if has_before and has_after and method == "patch" and kind.startswith("lb."):
        changed = next(iter(body))
        assert event.before[changed] != event.after[changed]


def test_secrets_never_reach_the_audit_log(actors: dict[str, Actor]) -> None:
    admin = actors["admin"].client
    password, wrong = "the-new-users-passphrase-1", "a-wrong-guess-of-a-password"
    user = admin.post(
        "/api/v1/users/", {"username": "erin", "password": password, "role": "operator"}, format="json"
    )
    admin.patch(f"/api/v1/users/{user.json()['id']}/", {"password": password + "x"}, format="json")
    token = admin.post(
        "/api/v1/tokens/", {"name": "ci", "role": "viewer", "user": "erin"}, format="json"
    ).json()
    Client().post("/login/", {"username": "erin", "password": wrong})
    bearer_client(token["token"] + "garbage").get("/api/v1/upstreams/")
    stored = ApiToken.objects.get(pk=token["id"])
    user_hash = get_user_model().objects.get(username="erin").password
    dumped = (
        json.dumps(list(AuditEvent.objects.values()), cls=DjangoJSONEncoder)
        + admin.get("/api/v1/audit-events/").content.decode()
    )
    for secret in (
        password,
        password + "x",
        wrong,
        token["token"],
        token["token"].split("_", 2)[2],
        stored.secret_hash,
        stored.salt,
        user_hash,
    ):
        assert secret not in dumped
    assert AuditEvent.objects.filter(object_type="accounts.apitoken", action="create").exists()
    assert AuditEvent.objects.get(object_type="auth.user", action="update").detail == {
        "changed": ["password"]
    }


def test_fields_named_like_secrets_are_redacted_at_any_depth() -> None:
    data = {
        "password": "p",
        "nested": [{"api_token": "t", "private_key": "k", "key_material": "m", "name": "kept"}],
        "client_secret": "s",
        "hash_key": "header",
    }
    assert snapshot(data) == {
        "password": "[redacted]",
        "nested": [
            {
                "api_token": "[redacted]",
                "private_key": "[redacted]",
                "key_material": "[redacted]",
                "name": "kept",
            }
        ],
        "client_secret": "[redacted]",
        "hash_key": "header",
    }


def test_sign_ins_denials_and_token_failures_are_recorded(actors: dict[str, Actor]) -> None:
    user = actors["viewer"].user
    user.set_password("viewer-passphrase-1")
    user.save()
    assert Client().login(username=user.username, password="viewer-passphrase-1")
    Client().post("/login/", {"username": user.username, "password": "nope"})
    actors["viewer"].client.post("/api/v1/upstreams/", {"name": "x"}, format="json")
    bearer_client(None).get("/api/v1/upstreams/")
    bearer_client("lb_nonsense").get("/api/v1/upstreams/")
    events = {e.action: e for e in AuditEvent.objects.all()}
    assert events["auth.login"].actor == user.username and events["auth.login"].outcome == "success"
    assert events["auth.login_failed"].outcome == "failure"
    denied = AuditEvent.objects.filter(action="auth.denied")
    assert {(e.actor, e.actor_kind) for e in denied} == {(user.username, "token"), ("", "anonymous")}
    assert events["auth.token_failed"].detail["reason"] == "invalid token"


def test_the_audit_log_filters_by_actor_action_object_and_time(
    actors: dict[str, Actor], world: World
) -> None:
    admin = actors["admin"]
    admin.client.patch(f"/api/v1/upstreams/{world.upstream.pk}/", {"keepalive": 3}, format="json")
    actors["operator"].client.post("/api/v1/upstreams/", {"name": "by-op"}, format="json")
    first = AuditEvent.objects.order_by("time").first()

    def results(query: str) -> list[dict]:
        response = admin.client.get(f"/api/v1/audit-events/?{query}")
        assert response.status_code == 200, response.content
        return response.json()["results"]

    assert {e["object_repr"] for e in results("actor=api-operator")} == {"by-op"}
    assert {e["action"] for e in results("action=update")} == {"update"}
    assert {e["object_id"] for e in results(f"object_type=lb.upstream&object_id={world.upstream.pk}")} == {
        str(world.upstream.pk)
    }
    assert results("action_prefix=auth.") == []
    later = results(f"time_after={first.time.isoformat().replace('+00:00', 'Z')}")
    assert len(later) == 2
    assert results("time_before=2000-01-01T00:00:00Z") == []
    assert admin.client.get("/api/v1/audit-events/?time_after=yesterday").status_code == 400
