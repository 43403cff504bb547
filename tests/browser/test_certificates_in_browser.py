"""An admin generates and uploads certificates in the browser and finds them listed with their names.

Also drives the route tester (an htmx request swapping in its answer) without any CSP violation.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from appliance.lb.models import Route, Upstream, VirtualServer
from appliance.tls.models import Certificate
from tests.tls import pki

pytestmark = pytest.mark.browser


def test_an_admin_generates_and_uploads_certificates_and_sees_them_listed(admin_ui):
    page = admin_ui.go("/")
    page.get_by_role("link", name="Certificates").click()
    page.get_by_role("link", name="Generate self-signed").click()
    page.get_by_label("Name:", exact=True).fill("browser-gen")
    page.get_by_label("DNS names:", exact=True).fill("gen.browser.test, www.gen.browser.test")
    page.get_by_role("button", name="Generate a self-signed certificate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate browser-gen")

    issued = pki.issue(pki.make_ca("LB browser CA"), ["up.browser.test"])
    page.get_by_role("link", name="Certificates").click()
    page.get_by_role("link", name="Upload certificate").click()
    page.get_by_label("Name:", exact=True).fill("browser-up")
    page.get_by_label("Certificate chain (PEM):", exact=True).fill(issued.chain_pem)
    page.get_by_label("Private key (PEM):", exact=True).fill(issued.key_pem)
    page.get_by_role("button", name="Upload a certificate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate browser-up")
    assert issued.key_pem.splitlines()[1] not in page.content()

    page.get_by_role("link", name="Certificates").click()
    expect(page.get_by_role("row", name="browser-gen")).to_contain_text("www.gen.browser.test")
    expect(page.get_by_role("row", name="browser-up")).to_contain_text("up.browser.test")
    assert set(Certificate.objects.values_list("name", flat=True)) == {"browser-gen", "browser-up"}
    assert admin_ui.csp_violations == []


def test_the_route_tester_answers_in_place(admin_ui):
    web = Upstream.objects.create(name="web")
    api = Upstream.objects.create(name="api-pool")
    site = VirtualServer.objects.create(name="tester", http_ports=[18080], default_upstream=web)
    Route.objects.create(virtual_server=site, path_prefix="/api", upstream=api)
    page = admin_ui.go(f"/virtual-servers/{site.pk}/")
    tester = page.locator("#route-tester")
    tester.get_by_label("Path:", exact=True).fill("/api/orders")
    tester.get_by_role("button", name="Test").click()
    expect(page.locator("#route-tester [role=status]")).to_contain_text("api-pool")
    assert page.url.endswith(f"/virtual-servers/{site.pk}/")  # swapped in place, no navigation
    assert admin_ui.csp_violations == []
