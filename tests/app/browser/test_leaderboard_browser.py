"""A paginated leaderboard in real Chromium (issue 15, issue 16 item 8): at 1366 and 390 px wide,
light and dark, no page wider than the screen and no axe-core violation; "jump to my row" takes
the viewer to the page holding it. Screenshots go to test-artifacts/pages/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.app.browser.conftest import Chromium, LiveServer, log_in
from tests.app.browser.test_pages_browser import ARTIFACTS, AXE, THEMES, WIDTHS, check
from tests.app.test_leaderboard_pages import seed_crowd

pytestmark = pytest.mark.browser

CROWD = 160
VIEWER = "p0109"
"""At position 110: on page 3 of 4."""


def test_a_paginated_leaderboard_fits_the_screen_and_has_no_accessibility_violation(
    live_server: LiveServer, chromium: Chromium
) -> None:
    world, page, url = live_server.world, chromium.page, live_server.url
    seed_crowd(world, CROWD)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    axe = AXE.read_text()
    board = f"{url}/phases/{world.phase_id}/leaderboard"
    log_in(page, url, VIEWER)
    problems: list[str] = []
    for width_name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        for theme in THEMES:
            page.emulate_media(color_scheme=theme)
            for query, name in (("", "page-1"), ("?page=3", "page-3"), ("?q=p01", "search")):
                page.goto(board + query)
                problems += check(page, f"leaderboard-{name}-{width_name}", width, theme, axe)
    assert problems == [], "\n".join(problems)

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(board)
    expect(page.locator("#leaderboard tbody tr")).to_have_count(50)
    page.get_by_role("link", name="Jump to my row").click()
    expect(page).to_have_url(f"{board}?page=3#my-row")
    mine = page.locator("#my-row")
    expect(mine).to_have_attribute("data-position", "110")
    expect(mine).to_be_in_viewport()
    pager = page.get_by_role("navigation", name="Leaderboard pages")
    expect(pager.locator('[aria-current="page"]')).to_have_text("Page 3")
    pager.get_by_role("link", name="Next").click()
    expect(page.locator("#leaderboard tbody tr")).to_have_count(CROWD - 150)
