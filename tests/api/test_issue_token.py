"""`manage.py issue_token USER --role ROLE [--name N] [--expires-days D]` prints a working token."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from appliance.accounts.models import ApiToken
from appliance.audit.models import AuditEvent
from tests.api.conftest import bearer_client, make_actor


def issue(*args: str) -> str:
    out = io.StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue().strip()


def test_the_printed_token_authenticates_with_the_requested_role(db: None) -> None:
    admin = make_actor("admin")
    text = issue(admin.user.username, "--role", "operator", "--name", "ci", "--expires-days", "7")
    client = bearer_client(text)
    assert client.post("/api/v1/upstreams/", {"name": "from-cli"}, format="json").status_code == 201
    assert client.get("/api/v1/users/").status_code == 403
    token = ApiToken.objects.get(name="ci")
    assert token.role == "operator"
    assert timedelta(days=6, hours=23) < token.expires - timezone.now() <= timedelta(days=7)
    event = AuditEvent.objects.get(action="create", object_type="accounts.apitoken")
    assert event.actor_kind == "system" and text not in str(event.after)


def test_a_role_above_the_user_s_own_is_refused(db: None) -> None:
    viewer = make_actor("viewer")
    with pytest.raises(CommandError, match="holds no operator role"):
        issue(viewer.user.username, "--role", "operator")
    assert ApiToken.objects.filter(user=viewer.user).count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nobody", "--role", "viewer"), "no user named"),
        (("api-viewer", "--role", "viewer", "--expires-days", "0"), "--expires-days"),
        (("api-viewer", "--role", "viewer", "--name", " "), "--name"),
    ],
)
def test_bad_arguments_are_refused(db: None, args: tuple[str, ...], message: str) -> None:
    make_actor("viewer")
    with pytest.raises(CommandError, match=message):
        issue(*args)
