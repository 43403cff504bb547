"""Browser fixtures: Playwright driving Debian's Chromium against the real stack (gunicorn, workers, nginx).

`playwright install` cannot download browsers here, so the system Chromium is launched directly. Every page
records the Content-Security-Policy violations its console reports, so a test can assert there were none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.integration.conftest import pools  # noqa: F401 - real backends and waiting for revisions

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ADMIN_PASSWORD = os.environ["LB_ADMIN_PASSWORD"]


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """One Chromium per test (about a second to start), so Playwright is gone before other tests run.

    Playwright's sync API keeps a running asyncio loop on this thread while it lives, and Django then
    refuses every ORM call as "async". The test's own ORM calls (set-up, waiting for revisions) are plain
    blocking calls, so the guard is lifted for the duration of the test only.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@dataclass
class UI:
    """A browser page on the web app, with the CSP violations its console reported."""

    page: Page
    base_url: str
    csp_violations: list[str] = field(default_factory=list)

    def watch(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def go(self, path: str) -> Page:
        self.page.goto(self.base_url + path)
        return self.page

    def log_in(self, username: str, password: str) -> None:
        page = self.go("/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(self.base_url + "/")


@pytest.fixture
def open_ui(chromium: Browser, web: str, transactional_db: None) -> Iterator:  # type: ignore[type-arg]
    """Opens fresh browser contexts (separate cookies) on the web app; closes them after the test."""
    # Tests that share the database empty it afterwards; the bootstrap command brings `admin` back.
    call_command("bootstrap")
    contexts = []

    def open_one() -> UI:
        context = chromium.new_context(viewport={"width": 1366, "height": 900})
        contexts.append(context)
        ui = UI(context.new_page(), web)
        ui.page.on("console", ui.watch)
        ui.page.set_default_timeout(15000)
        return ui

    yield open_one
    for context in contexts:
        context.close()


@pytest.fixture
def admin_ui(open_ui) -> UI:  # type: ignore[no-untyped-def]
    ui = open_ui()
    ui.log_in("admin", ADMIN_PASSWORD)
    return ui


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
