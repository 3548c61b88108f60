"""A live server (uvicorn running the real app on a free local port) and headless Chromium."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, sync_playwright

from app.config import Settings
from app.main import create_app
from tests.app.conftest import World

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS = 20.0


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
    app = create_app(settings, start_jobs=False)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    host, port = listener.getsockname()
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="live-server", daemon=True
    )
    thread.start()
    url = f"http://{host}:{port}"
    try:
        _wait_until_answering(server, url)
        yield LiveServer(url, world)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        listener.close()
    assert not thread.is_alive(), "the live server did not stop"


def _wait_until_answering(server: uvicorn.Server, url: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.started:
            try:
                if httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
        time.sleep(0.05)
    raise RuntimeError(f"the live server at {url} did not answer within {STARTUP_SECONDS} s")


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
