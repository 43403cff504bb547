"""The UI respects roles: viewers read everything and change nothing; anonymous users are sent to log in."""

from __future__ import annotations

from appliance.lb.choices import ServerState
from appliance.lb.models import ConfigRevision, Route, Server, Upstream, VirtualServer
from tests.webui.conftest import client_with_role, generation
from tests.webui.urls import every_url, is_admin_view, is_change_view


def counts() -> tuple[int, ...]:
    models = (Upstream, Server, VirtualServer, Route, ConfigRevision)
    return tuple(model.objects.count() for model in models)


def test_a_viewer_can_open_every_page_but_no_change_form_and_no_admin_page(viewer, sample):
    for name, url in every_url(sample).items():
        expected = 403 if is_change_view(name) or is_admin_view(name) else 200
        if name == "server-state":
            expected = 405  # POST only
        assert viewer.get(url).status_code == expected, name


def test_an_operator_is_kept_out_of_the_admin_pages(operator, sample):
    for name, url in every_url(sample).items():
        if is_admin_view(name):
            assert operator.get(url).status_code == 403, name
            assert operator.post(url).status_code in (403, 405), name


def test_every_post_is_refused_for_a_viewer_and_changes_nothing(viewer, sample):
    before = (counts(), generation())
    for name, url in every_url(sample).items():
        data = {"state": ServerState.DISABLED, "name": "changed", "port": "1", "address": "127.0.0.2"}
        status = viewer.post(url, data).status_code
        assert status == (403 if is_change_view(name) else 405), name
    assert not sample.token.__class__.objects.filter(revoked_at__isnull=False).exists()
    assert (counts(), generation()) == before
    assert Server.objects.filter(state=ServerState.ENABLED).count() == 2


def test_a_user_without_a_role_cannot_even_read(sample):
    nobody = client_with_role("ui-nobody", None)
    assert nobody.get("/upstreams/").status_code == 403
    assert nobody.get("/").status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(client, sample):
    for name, url in every_url(sample).items():
        response = client.post(url) if name == "server-state" else client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), name


def test_a_viewer_sees_no_edit_buttons_and_an_operator_does(viewer, operator, sample):
    page = f"/upstreams/{sample.upstream.pk}/"
    as_viewer, as_operator = viewer.get(page).content.decode(), operator.get(page).content.decode()
    for control in (">Drain<", ">Disable<", ">Add server<", ">Edit upstream<", ">Delete upstream<"):
        assert control not in as_viewer and control in as_operator, control
    assert 'ui-viewer <span class="muted">(viewer)' in as_viewer
