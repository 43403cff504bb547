"""In Chromium: start a benchmark from the form, follow its progress (htmx), open its report, see charts."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from appliance.benchmarks.models import BenchmarkRun
from tests.browser.conftest import admin_ui, chromium, open_ui  # noqa: F401 - Playwright fixtures
from tests.integration.conftest import Pools

pytestmark = [pytest.mark.browser, pytest.mark.stack]


def test_an_operator_starts_a_benchmark_follows_it_and_opens_its_report(admin_ui, pools: Pools) -> None:  # noqa: F811
    pools.pool("shop", [pools.backend("s0"), pools.backend("s1")])
    page = admin_ui.page
    admin_ui.go("/")
    page.get_by_role("link", name="Benchmarks").click()
    page.get_by_role("link", name="Start a benchmark").click()
    applies = page.get_by_label("Config applies (reload only):")
    page.get_by_label("Scenario:").select_option("reload")
    expect(applies).to_be_visible()  # the field only the reload scenario reads (CSS :has, no script)
    page.get_by_label("Scenario:").select_option("latency")
    expect(applies).to_be_hidden()
    page.get_by_label("Target virtual server:").select_option(label="vs-shop")
    page.get_by_label("Duration (s):").fill("3")
    page.get_by_label("Concurrency:").fill("4")
    page.get_by_role("button", name="Start").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Benchmark #{BenchmarkRun.objects.get().pk}")
    # The progress block is replaced by htmx polls; no reload of the page is involved.
    expect(page.locator("#benchmark-progress [data-status]")).to_have_attribute(
        "data-status", "succeeded", timeout=60000
    )
    expect(page.locator("[data-progress]")).to_have_attribute("data-progress", "100")
    expect(page.get_by_role("link", name="Download the report (PDF)")).to_be_visible()

    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Open the report").click()
    report = opened.value
    report.wait_for_load_state()
    charts = report.locator("svg.chart")
    expect(charts).to_have_count(4)
    points = report.locator("svg.chart circle.point")
    assert points.count() >= 4  # at least one one-second sample in each chart
    box = points.first.bounding_box()
    assert box is not None and box["width"] > 0  # drawn, not just present in the markup
    assert report.locator("svg.chart polyline").first.get_attribute("points")
    expect(report.get_by_role("heading", name="Configuration")).to_be_visible()
    # The report's own policy allows its inline stylesheet (and nothing else): the styles are applied.
    assert report.evaluate("getComputedStyle(document.body).maxWidth") == "1000px"
    assert admin_ui.csp_violations == []
