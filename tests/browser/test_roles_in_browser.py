"""A viewer in the browser: reads pages, sees no edit controls, and a change it sends anyway is refused."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from appliance.accounts.roles import Role, set_role
from appliance.lb.models import Server, Upstream

pytestmark = pytest.mark.browser


def test_a_viewer_sees_no_edit_controls_and_is_refused_a_change(open_ui):
    upstream = Upstream.objects.create(name="web")
    server = Server.objects.create(upstream=upstream, address="127.0.0.1", port=9)
    user = get_user_model().objects.create_user("watcher", password="watcher-password-1")
    set_role(user, Role.VIEWER)
    ui = open_ui()
    ui.log_in("watcher", "watcher-password-1")

    page = ui.go(f"/upstreams/{upstream.pk}/")
    assert page.get_by_role("row", name="127.0.0.1:9").is_visible()
    for control in ("Drain 127.0.0.1:9", "Disable 127.0.0.1:9", "Add server", "Delete upstream"):
        assert page.get_by_role("button", name=control).count() == 0
        assert page.get_by_role("link", name=control).count() == 0

    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{ui.base_url}/servers/{server.pk}/state/",
        form={"state": "disabled"},
        headers={"X-CSRFToken": csrf, "Referer": ui.base_url + "/"},
    )
    assert response.status == 403
    assert Server.objects.get(pk=server.pk).state == "enabled"
    assert ui.go("/upstreams/add/").get_by_role("heading", level=1).inner_text() == "Not allowed"
    assert ui.csp_violations == []


def test_the_browser_enforces_the_policy_against_injected_script(open_ui):
    ui = open_ui()
    page = ui.go("/login/")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = 1'; document.body.appendChild(s); }"
    )
    assert page.evaluate("() => window.injected") is None
    assert any("inline script" in violation for violation in ui.csp_violations)
