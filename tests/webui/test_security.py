"""Security of the UI: CSP without inline script, CSRF on every form, no framing, a clean deploy check."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from django.test import Client

from appliance.accounts.roles import Role
from tests.webui.conftest import generation, make_user
from tests.webui.urls import every_url

REPO = Path(__file__).resolve().parents[2]


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline scripts and styles, event-handler attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        self.found += [f"{tag} {name}=" for name in names if name == "style" or name.startswith("on")]


def test_every_page_carries_a_strict_policy_and_no_inline_code(admin, sample):
    for name, url in every_url(sample).items():
        if name == "server-state":
            continue
        response = admin.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "style-src 'self';" in policy, name
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert response["X-Frame-Options"] == "DENY"
        parser = InlineCode()
        parser.feed(response.content.decode())
        assert parser.found == [], (name, parser.found)


def test_a_form_posted_without_the_csrf_token_is_refused(sample):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("csrf-operator", Role.OPERATOR))
    before = generation()
    response = browser.post(f"/servers/{sample.servers[0].pk}/state/", {"state": "drain"})
    assert response.status_code == 403 and generation() == before
    token = str(browser.get(f"/upstreams/{sample.upstream.pk}/").context["csrf_token"])
    response = browser.post(
        f"/servers/{sample.servers[0].pk}/state/", {"state": "drain"}, HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 302 and generation() == before + 1


def test_the_vendored_htmx_is_served_by_the_app_with_its_licence(client):
    response = client.get("/static/webui/vendor/htmx/htmx.min.js")
    body = b"".join(response.streaming_content)
    assert response.status_code == 200 and b'version:"2.0.11"' in body
    assert client.get("/static/webui/vendor/htmx/LICENSE").status_code == 200


def test_the_deploy_check_is_clean_with_production_settings():
    production = {
        "LB_SECURE_COOKIES": "1",
        "LB_DEBUG": "0",
        # A deployment supplies its own key; the generated default (43 characters) is shorter than the 50
        # the check asks for.
        "LB_DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "DJANGO_SETTINGS_MODULE": "appliance.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=REPO,
        env={**os.environ, **production},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Deployment checks are Django's security.* (cookies, HSTS, SSL redirect, framing...) and async.*.
    assert "(security." not in output and "(async." not in output, output
