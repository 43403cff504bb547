"""Sign-in lockout: N failures per account or per client address in the window refuse further attempts.

The browser form (`/login/`, Django's LoginView) is driven through the Django test client; the API side
through bearer tokens. Each attempt comes from a chosen REMOTE_ADDR so account and address limits can be
told apart.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from appliance.accounts.models import LoginFailure
from appliance.accounts.roles import Role, set_role
from appliance.audit.models import AuditEvent
from tests.api.conftest import Actor, bearer_client

PASSWORD = "correct-horse-battery-9"
LIMIT = 5


@pytest.fixture
def alice(db: None):  # type: ignore[no-untyped-def]
    user = get_user_model().objects.create_user("alice", password=PASSWORD)
    set_role(user, Role.OPERATOR)
    return user


def sign_in(username: str, password: str, address: str) -> bool:
    """Submit the real login form; True if it started a session."""
    browser = Client(REMOTE_ADDR=address)
    response = browser.post("/login/", {"username": username, "password": password})
    signed_in = "_auth_user_id" in browser.session
    assert response.status_code == (302 if signed_in else 200)
    return signed_in


def test_an_account_is_locked_after_failures_from_any_addresses(alice, db: None) -> None:
    get_user_model().objects.create_user("bob", password=PASSWORD)
    for i in range(LIMIT):
        assert not sign_in("alice", "wrong-password", f"10.0.1.{i + 1}")
    assert not sign_in("alice", PASSWORD, "10.0.1.99")
    assert sign_in("bob", PASSWORD, "10.0.1.99")  # the address itself is not locked
    actions = list(AuditEvent.objects.filter(actor="alice").values_list("action", flat=True))
    assert actions.count("auth.login_failed") == LIMIT
    assert actions.count("auth.login_locked") == 1


def test_an_address_is_locked_after_failures_on_any_accounts(alice, db: None) -> None:
    for i in range(LIMIT):
        assert not sign_in(f"guess{i}", "wrong-password", "10.0.2.7")
    assert not sign_in("alice", PASSWORD, "10.0.2.7")
    assert sign_in("alice", PASSWORD, "10.0.2.8")
    locked = AuditEvent.objects.get(action="auth.login_locked")
    assert (locked.client_ip, locked.outcome) == ("10.0.2.7", "denied")
    assert locked.detail["retry_after_s"] > 0


def test_fewer_failures_than_the_limit_still_allow_the_right_password_and_are_forgiven(
    alice, db: None
) -> None:
    for _ in range(LIMIT - 1):
        assert not sign_in("alice", "wrong-password", "10.0.3.1")
    assert sign_in("alice", PASSWORD, "10.0.3.1")
    assert not LoginFailure.objects.filter(username="alice").exists()


def test_the_lock_lifts_when_the_failures_leave_the_window(alice, db: None, settings) -> None:
    for _ in range(LIMIT):
        sign_in("alice", "wrong-password", "10.0.4.1")
    assert not sign_in("alice", PASSWORD, "10.0.4.1")
    window = timedelta(seconds=settings.LB_LOGIN_LOCKOUT["window_s"])
    LoginFailure.objects.update(time=timezone.now() - window - timedelta(seconds=1))
    assert sign_in("alice", PASSWORD, "10.0.4.1")


def test_bad_api_tokens_lock_the_address_even_for_a_good_token(actors: dict[str, Actor]) -> None:
    bad = bearer_client("lb_0123456789_" + "x" * 43, address="10.0.5.5")
    for _ in range(LIMIT):
        assert bad.get("/api/v1/upstreams/").status_code == 401
    good_here = bearer_client(actors["viewer"].token, address="10.0.5.5")
    response = good_here.get("/api/v1/upstreams/")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert (
        bearer_client(actors["viewer"].token, address="10.0.5.6").get("/api/v1/upstreams/").status_code == 200
    )
    assert AuditEvent.objects.filter(action="auth.token_failed", client_ip="10.0.5.5").count() == LIMIT
    assert AuditEvent.objects.filter(action="auth.locked", client_ip="10.0.5.5").count() == 1


def test_a_locked_address_cannot_sign_in_through_the_form_either(alice, actors: dict[str, Actor]) -> None:
    bad = bearer_client("lb_0123456789_" + "y" * 43, address="10.0.6.6")
    for _ in range(LIMIT):
        bad.get("/api/v1/upstreams/")
    assert not sign_in("alice", PASSWORD, "10.0.6.6")
