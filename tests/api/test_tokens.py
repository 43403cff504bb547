"""API tokens: shown once, stored hashed, scoped to a role, revocable, expiring; users managed by admins."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from appliance.accounts.models import ApiToken
from appliance.accounts.roles import Role, set_role
from tests.api.conftest import Actor, bearer_client, make_actor


def test_a_created_token_is_shown_once_and_stored_only_as_a_salted_hash(actors: dict[str, Actor]) -> None:
    response = actors["admin"].client.post(
        "/api/v1/tokens/", {"name": "deploy", "role": "operator"}, format="json"
    )
    assert response.status_code == 201
    text = response.json()["token"]
    assert text.startswith("lb_")
    stored = ApiToken.objects.get(pk=response.json()["id"])
    assert text.split("_", 2)[2] not in (stored.secret_hash, stored.salt)
    assert "token" not in actors["admin"].client.get(f"/api/v1/tokens/{stored.pk}/").json()
    assert bearer_client(text).get("/api/v1/upstreams/").status_code == 200
    assert (
        bearer_client(text[:-1] + ("A" if text[-1] != "A" else "B")).get("/api/v1/upstreams/").status_code
        == 401
    )


def test_a_viewer_token_of_an_admin_can_only_read(db: None) -> None:
    admin = make_actor("admin", token_role="viewer")
    assert admin.client.get("/api/v1/upstreams/").status_code == 200
    assert admin.client.post("/api/v1/upstreams/", {"name": "x"}, format="json").status_code == 403
    assert admin.client.get("/api/v1/users/").status_code == 403
    assert (
        admin.client.post("/api/v1/tokens/", {"name": "more", "role": "admin"}, format="json").status_code
        == 403
    )


def test_an_operator_token_changes_configuration_but_not_credentials(db: None) -> None:
    admin = make_actor("admin", token_role="operator")
    assert admin.client.post("/api/v1/upstreams/", {"name": "x"}, format="json").status_code == 201
    assert (
        admin.client.post("/api/v1/tokens/", {"name": "more", "role": "viewer"}, format="json").status_code
        == 403
    )
    assert admin.client.get("/api/v1/audit-events/").status_code == 403


def test_a_token_cannot_exceed_its_users_role(actors: dict[str, Actor]) -> None:
    operator = actors["operator"].user
    operator.set_password("operator-passphrase-42")
    operator.save()
    browser = Client()
    assert browser.login(username=operator.username, password="operator-passphrase-42")
    response = browser.post(
        "/api/v1/tokens/", {"name": "up", "role": "admin"}, content_type="application/json"
    )
    assert response.status_code == 400 and "role" in response.json()
    response = browser.post(
        "/api/v1/tokens/", {"name": "ok", "role": "operator"}, content_type="application/json"
    )
    assert response.status_code == 201
    response = actors["admin"].client.post(
        "/api/v1/tokens/", {"name": "for-op", "role": "admin", "user": operator.username}, format="json"
    )
    assert response.status_code == 400 and "role" in response.json()


def test_a_demoted_user_s_token_loses_the_role_it_was_issued_with(db: None) -> None:
    operator = make_actor("operator")
    set_role(operator.user, Role.VIEWER)
    assert operator.client.get("/api/v1/upstreams/").status_code == 200
    assert operator.client.post("/api/v1/upstreams/", {"name": "x"}, format="json").status_code == 403


def test_an_expired_token_is_refused(actors: dict[str, Actor]) -> None:
    ApiToken.objects.filter(user=actors["viewer"].user).update(expires=timezone.now() - timedelta(seconds=1))
    response = actors["viewer"].client.get("/api/v1/upstreams/")
    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused_and_delete_only_revokes(actors: dict[str, Actor]) -> None:
    token = ApiToken.objects.get(user=actors["operator"].user)
    assert actors["admin"].client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    response = actors["operator"].client.get("/api/v1/upstreams/")
    assert response.status_code == 401 and response.json()["detail"] == "token revoked"


def test_revoke_action_answers_with_the_revoked_token(actors: dict[str, Actor]) -> None:
    token = ApiToken.objects.get(user=actors["viewer"].user)
    response = actors["admin"].client.post(f"/api/v1/tokens/{token.pk}/revoke/")
    assert response.status_code == 200
    assert response.json()["revoked_at"] and response.json()["active"] is False
    assert actors["viewer"].client.get("/api/v1/upstreams/").status_code == 401


def test_non_admins_see_only_their_own_tokens(actors: dict[str, Actor]) -> None:
    listed = actors["viewer"].client.get("/api/v1/tokens/").json()
    assert {t["user"] for t in listed["results"]} == {actors["viewer"].user.username}
    other = ApiToken.objects.get(user=actors["operator"].user)
    assert actors["viewer"].client.get(f"/api/v1/tokens/{other.pk}/").status_code == 404
    everyone = actors["admin"].client.get("/api/v1/tokens/").json()
    assert everyone["count"] == 3


def test_only_admins_issue_tokens_for_others_and_others_learn_no_user_names(actors: dict[str, Actor]) -> None:
    operator = actors["operator"].user
    browser = Client()
    browser.force_login(operator)
    answers = [
        browser.post(
            "/api/v1/tokens/", {"name": "x", "role": "viewer", "user": name}, content_type="application/json"
        )
        for name in (actors["viewer"].user.username, "no-such-user")
    ]
    assert [a.status_code for a in answers] == [400, 400]
    assert all("does not exist" in a.json()["user"][0] for a in answers)
    for_viewer = actors["admin"].client.post(
        "/api/v1/tokens/",
        {"name": "x", "role": "viewer", "user": actors["viewer"].user.username},
        format="json",
    )
    assert for_viewer.status_code == 201 and for_viewer.json()["user"] == actors["viewer"].user.username


def test_last_use_is_recorded(actors: dict[str, Actor]) -> None:
    actors["viewer"].client.get("/api/v1/upstreams/")
    assert ApiToken.objects.get(user=actors["viewer"].user).last_used is not None
    assert ApiToken.objects.get(user=actors["operator"].user).last_used is None


def test_admins_create_users_with_a_role_and_never_see_password_hashes(actors: dict[str, Actor]) -> None:
    client = actors["admin"].client
    body = {
        "username": "carol",
        "password": "a-long-enough-passphrase-7",
        "role": "operator",
        "email": "c@x.test",
    }
    response = client.post("/api/v1/users/", body, format="json")
    assert response.status_code == 201
    assert response.json()["role"] == "operator" and "password" not in response.json()
    assert "pbkdf2" not in client.get("/api/v1/users/").content.decode()
    carol = get_user_model().objects.get(username="carol")
    assert carol.check_password("a-long-enough-passphrase-7")
    weak = client.post("/api/v1/users/", {**body, "username": "dave", "password": "short"}, format="json")
    assert weak.status_code == 400 and "password" in weak.json()


def test_deactivating_a_user_revokes_their_tokens(actors: dict[str, Actor]) -> None:
    operator = actors["operator"]
    response = actors["admin"].client.patch(
        f"/api/v1/users/{operator.user.pk}/", {"is_active": False}, format="json"
    )
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert ApiToken.objects.get(user=operator.user).revoked_at is not None
    assert operator.client.get("/api/v1/upstreams/").status_code == 401


def test_changing_a_role_takes_effect_at_once(actors: dict[str, Actor]) -> None:
    viewer = actors["viewer"]
    response = actors["admin"].client.patch(
        f"/api/v1/users/{viewer.user.pk}/", {"role": "operator"}, format="json"
    )
    assert response.status_code == 200 and response.json()["role"] == "operator"
    # The token still carries its own scope (viewer): the new role widens the account, not the token.
    assert viewer.client.post("/api/v1/upstreams/", {"name": "x"}, format="json").status_code == 403
    demoted = actors["admin"].client.patch(
        f"/api/v1/users/{actors['operator'].user.pk}/", {"role": "viewer"}, format="json"
    )
    assert demoted.status_code == 200
    assert (
        actors["operator"].client.post("/api/v1/upstreams/", {"name": "y"}, format="json").status_code == 403
    )


def test_an_admin_cannot_demote_or_deactivate_themselves(actors: dict[str, Actor]) -> None:
    admin = actors["admin"]
    for change in ({"role": "viewer"}, {"is_active": False}):
        response = admin.client.patch(f"/api/v1/users/{admin.user.pk}/", change, format="json")
        assert response.status_code == 400, change
