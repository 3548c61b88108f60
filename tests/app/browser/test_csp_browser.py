"""The strict Content-Security-Policy breaks nothing: the main pages and the API docs run in
real Chromium without a single CSP violation and without loading anything from elsewhere."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.app.browser.conftest import Chromium, LiveServer, log_in
from tests.app.conftest import prediction_csv

pytestmark = pytest.mark.browser

REDOC_FOOTER_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
"""ReDoc's bundle always tries this image in its 'API docs by Redocly' footer (it hides it when
it fails to load). The CSP blocking it is the point: nothing is fetched from elsewhere."""


def watch_for_violations(page: Page) -> list[str]:
    """Console errors and uncaught exceptions; Chromium reports each CSP refusal there."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    return problems


def submit_as(live_server: LiveServer, username: str) -> int:
    world = live_server.world
    truth = world.truth()
    with live_server.api() as api:
        response = api.post(
            f"/api/v1/phases/{world.phase_id}/submissions",
            files={"file": ("p.csv", prediction_csv(truth.ids, truth.age + 2.0))},
            headers=world.headers(world.user(username)),
        )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_the_main_pages_run_under_the_csp_without_violations(
    live_server: LiveServer, chromium: Chromium
) -> None:
    world, url, page = live_server.world, live_server.url, chromium.page
    submission_id = submit_as(live_server, "alice")
    problems = watch_for_violations(page)
    board = f"{url}/phases/{world.phase_id}/leaderboard"

    log_in(page, url, "alice")
    for path in (
        "/",
        f"/competitions/{world.competition_id}",
        f"/phases/{world.phase_id}/leaderboard",
        f"/phases/{world.phase_id}/leaderboard?view=tradeoff",
        f"/phases/{world.phase_id}/leaderboard?view=groups",
        f"/submissions/{submission_id}",
        "/account/tokens",
        "/account/password",
    ):
        page.goto(url + path)
        page.wait_for_load_state("networkidle")
    page.goto(board)
    # The sortable table is driven by the site's script: sorting proves it ran.
    page.locator("#leaderboard th[data-sort] button.sort").first.click()
    expect(page.locator("#leaderboard th[aria-sort]")).to_have_count(1)

    page.get_by_role("button", name="Log out").click()
    log_in(page, url, "lecturer")
    for path in ("/organize", f"/organize/phases/{world.phase_id}"):
        page.goto(url + path)
        page.wait_for_load_state("networkidle")

    assert problems == []
    assert chromium.offsite_requests == []


def test_the_api_docs_render_offline_under_the_csp(
    live_server: LiveServer, chromium: Chromium
) -> None:
    url, page = live_server.url, chromium.page
    problems = watch_for_violations(page)

    page.goto(f"{url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Fairboard")
    expect(page.locator(".opblock").first).to_be_visible()
    page.goto(f"{url}/redoc")
    expect(page.locator("h1").first).to_contain_text("Fairboard")

    assert [problem for problem in problems if REDOC_FOOTER_LOGO not in problem] == []
    assert chromium.offsite_requests == []
