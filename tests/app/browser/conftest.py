"""A live server (uvicorn running the real app on a free local port) and headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    Route,
    expect,
    sync_playwright,
)

from app.config import Settings
from app.main import create_app
from tests.app.conftest import PASSWORD, World
from tests.support.live_server import serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class LiveServer:
    url: str
    world: World

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0)


@pytest.fixture
def live_server(world: World, settings: Settings) -> Iterator[LiveServer]:
    """The real app under uvicorn in a background thread, on a port the OS picked.

    Without the job runner: a test decides when a queued submission is evaluated. Prediction
    files small enough to score inline are scored within the upload request as always.
    """
    with serve(create_app(settings, start_jobs=False)) as url:
        yield LiveServer(url, world)


@dataclass
class Chromium:
    browser: Browser
    context: BrowserContext
    page: Page
    offsite_requests: list[str] = field(default_factory=list)


@pytest.fixture
def chromium(live_server: LiveServer) -> Iterator[Chromium]:
    """Headless Chromium, with any request that would leave the live server refused and noted."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        context.set_default_timeout(15_000)
        here = urlsplit(live_server.url).netloc
        driven = Chromium(browser, context, context.new_page())

        def stay_local(route: Route, request: Request) -> None:
            if urlsplit(request.url).netloc == here:
                route.continue_()
            else:
                driven.offsite_requests.append(request.url)
                route.abort()

        context.route("**/*", stay_local)
        try:
            yield driven
        finally:
            context.close()
            browser.close()


def log_in(page: Page, url: str, username: str) -> None:
    """Log in through the form as a real browser does, and wait for the page to say so."""
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(f'[data-user="{username}"]')).to_be_visible()
