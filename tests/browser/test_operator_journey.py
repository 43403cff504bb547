"""An admin builds a pool in the browser, sees traffic flow through nginx, drains a server, rolls back.

Everything happens through the UI in Debian's Chromium; what nginx does is measured at the backends.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.lb import free_port, spread

pytestmark = pytest.mark.browser


def create_upstream(page: Page, name: str) -> None:
    page.get_by_role("link", name="Upstreams").click()
    page.get_by_role("link", name="New upstream").click()
    page.get_by_label("Name:", exact=True).fill(name)
    page.get_by_role("button", name="Create upstream").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Upstream {name}")


def add_server(page: Page, port: int) -> None:
    page.get_by_role("link", name="Add server").click()
    page.get_by_label("Address:", exact=True).fill("127.0.0.1")
    page.get_by_label("Port:", exact=True).fill(str(port))
    page.get_by_role("button", name="Add server").click()
    expect(page.get_by_role("row", name=f"127.0.0.1:{port}")).to_be_visible()


def create_virtual_server_with_route(page: Page, listen_port: int, upstream: str) -> None:
    page.get_by_role("link", name="Virtual servers").click()
    page.get_by_role("link", name="New virtual server").click()
    page.get_by_label("Name:", exact=True).fill("shop")
    page.get_by_label("Http ports:", exact=True).fill(str(listen_port))
    page.get_by_role("button", name="Create virtual server").click()
    page.get_by_role("link", name="Add route").click()
    page.get_by_label("Path prefix:", exact=True).fill("/app")
    page.get_by_label("Upstream:", exact=True).select_option(label=upstream)
    page.get_by_role("button", name="Add route").click()
    expect(page.get_by_role("row", name="/app")).to_be_visible()


def test_an_admin_builds_a_pool_sees_traffic_drains_a_server_and_rolls_back(admin_ui, pools, artifacts):
    page = admin_ui.page
    first, second = pools.backend("a"), pools.backend("b")
    listen_port = free_port()
    create_upstream(page, "web")
    add_server(page, first.port)
    add_server(page, second.port)
    create_virtual_server_with_route(page, listen_port, "web")
    pools.wait()
    url = f"http://127.0.0.1:{listen_port}/app/checkout"
    assert set(spread(url, 40)) == {"a", "b"}

    dashboard = admin_ui.go("/")
    both_enabled = dashboard.locator("#live-revision").inner_text()
    expect(dashboard.locator("#nodes-summary")).to_have_text(
        f"Every active node runs revision {both_enabled}."
    )

    upstream_page = admin_ui.page.context.new_page()
    upstream_page.goto(admin_ui.base_url + "/upstreams/")
    upstream_page.get_by_role("link", name="web").click()
    upstream_page.get_by_role("button", name=f"Drain 127.0.0.1:{first.port}").click()
    row = upstream_page.get_by_role("row", name=f"127.0.0.1:{first.port}")
    expect(row).to_contain_text("Draining")
    expect(upstream_page.locator("#in-rotation")).to_have_text("1 / 2")
    upstream_page.screenshot(path=str(artifacts / "upstream.png"), full_page=True)
    pools.wait()
    hits_before = first.hits()
    assert spread(url, 40) == {"b": 40}
    assert first.hits() == hits_before

    # The dashboard was left open: its polled partial shows the new live revision without a reload, and
    # the traffic the data plane counted (scraped every few seconds) without one either.
    expect(dashboard.locator("#live-revision")).not_to_have_text(both_enabled, timeout=15000)
    expect(dashboard.locator("#traffic-rps")).to_be_visible(timeout=20000)
    assert float(dashboard.locator("#traffic-rps").inner_text()) > 0
    dashboard.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)

    number = both_enabled.lstrip("#")
    admin_ui.go(f"/revisions/{number}/")
    page.get_by_role("link", name="Roll back to this revision").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Roll back to revision #{number}?")
    page.get_by_role("button", name=f"Roll back to #{number}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Revision #")
    pools.wait()
    assert set(spread(url, 40)) == {"a", "b"}
    assert admin_ui.csp_violations == []
