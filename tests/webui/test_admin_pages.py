"""Admin pages: the audit log of UI changes, users and their roles, API tokens shown once and revoked."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client

from appliance.accounts import tokens
from appliance.accounts.roles import Role, account_role
from appliance.audit.models import AuditEvent
from tests.webui.conftest import make_user


def test_a_change_in_the_browser_is_audited_like_an_api_change(operator, admin, sample):
    server = sample.servers[0]
    operator.post(f"/servers/{server.pk}/state/", {"state": "drain"})
    event = AuditEvent.objects.get(action="update", object_type="lb.server", object_id=str(server.pk))
    assert (event.actor, event.actor_kind, event.detail) == ("ui-operator", "session", {"action": "drain"})
    assert (event.before["state"], event.after["state"]) == ("enabled", "drain")
    page = admin.get("/audit/", {"actor": "ui-operator", "action": "update"})
    assert list(page.context["page"]) == [event]
    assert "&quot;state&quot;: &quot;drain&quot;" in page.content.decode()


def test_a_refused_delete_leaves_no_audit_event(operator, sample):
    operator.post(f"/upstreams/{sample.upstream.pk}/delete/")
    assert not AuditEvent.objects.filter(action="delete").exists()


def test_an_admin_creates_a_user_with_a_role_and_weak_passwords_are_refused(admin, db):
    data = {"username": "carol", "email": "", "role": "operator", "password": "password"}
    response = admin.post("/users/add/", data)
    assert response.status_code == 200 and "password" in response.context["form"].errors
    assert admin.post("/users/add/", {**data, "password": "a-long-enough-secret-9"}).status_code == 302
    carol = get_user_model().objects.get(username="carol")
    assert account_role(carol) == Role.OPERATOR and carol.check_password("a-long-enough-secret-9")
    assert AuditEvent.objects.filter(action="create", object_type="auth.user", object_repr="carol").exists()


def test_deactivating_a_user_revokes_their_tokens(admin, sample):
    data = {"email": "", "role": "viewer", "is_active": "", "password": ""}
    assert admin.post(f"/users/{sample.user.pk}/edit/", data).status_code == 302
    sample.user.refresh_from_db()
    sample.token.refresh_from_db()
    assert not sample.user.is_active and sample.token.revoked_at is not None


def test_a_token_is_shown_once_and_works_until_revoked(admin, sample):
    data = {"user": sample.user.pk, "name": "ci", "role": "operator"}
    response = admin.post("/tokens/add/", data)
    text = response.context["text"]
    assert text in response.content.decode() and "no-cache" in response["Cache-Control"]
    assert tokens.verify(text).name == "ci"
    assert text not in admin.get("/tokens/").content.decode()
    token = response.context["token"]
    assert admin.post(f"/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_token_cannot_exceed_its_users_role(admin, sample):
    response = admin.post("/tokens/add/", {"user": sample.user.pk, "name": "too-much", "role": "admin"})
    assert response.context["form"].errors["role"] == ["sample-user does not hold the admin role"]


def test_an_admin_cannot_demote_or_deactivate_themselves(db):
    me = make_user("ui-admin-self", Role.ADMIN)
    browser = Client()
    browser.force_login(me)
    for data in ({"role": "operator", "is_active": "on"}, {"role": "admin", "is_active": ""}):
        response = browser.post(f"/users/{me.pk}/edit/", {"email": "", "password": "", **data})
        assert response.context["form"].errors["role"] == ["you cannot demote or deactivate yourself"]
    me.refresh_from_db()
    assert me.is_active and account_role(me) == Role.ADMIN
