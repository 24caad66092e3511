"""Debian's Chromium driven by Playwright against pytest-django's live server.

Tests using these fixtures need a real (transactional) database, because the live server
answers from another thread: mark them `pytest.mark.django_db(transaction=True)` and
`pytest.mark.browser`. The personas' fixtures re-create the role groups a flush removed; a
serialized rollback is not used, because restoring the content types it saved collides with
those a flush after another transactional test re-creates.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
#: Without the networking flags Chromium keeps calling outside hosts, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    # Playwright's sync API runs an asyncio event loop in the test's thread. Django then takes
    # every ORM call the test makes there (fixtures, assertions) for a call from async code and
    # refuses it, although it is plain synchronous code; this tells Django so. The live server
    # answers from its own thread and is not affected.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        # The test's own ORM calls, made while Playwright's loop runs in this thread, got a
        # connection of their own (Django keeps one per async context); nothing else closes it,
        # and the test database could not be dropped at the end of the run while it was open.
        connections.close_all()
        chromium.close()


@pytest.fixture
def browser_page(browser: Browser, live_server: object) -> Iterator[Callable[..., Page]]:
    """browser_page(user, password=PASSWORD) -> a page logged into the admin as `user`."""
    contexts = []

    def open_as(user: object, password: str = PASSWORD) -> Page:
        context = browser.new_context(
            base_url=live_server.url, locale="es-CO", timezone_id="America/Bogota"
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(reverse("admin:login"))
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        expect(page.locator("#user-tools")).to_contain_text(user.get_username())
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], None]:
    """screenshot(page, "step") saves test-artifacts/screenshots/<test>-<step>.png."""

    def take(page: Page, step: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{request.node.name}-{step}.png", full_page=True)

    return take
