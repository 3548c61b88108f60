"""Every kind of page, in real Chromium at a laptop's and a phone's width, in the light and
the dark theme: nothing wider than the screen, and axe-core finds no accessibility violation.

A screenshot of each is kept under test-artifacts/pages/ for people to look at.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.app.browser.conftest import Chromium, LiveServer
from tests.app.browser.test_browser import log_in
from tests.app.conftest import prediction_csv

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "support" / "axe" / "axe.min.js"
"""axe-core from npm (version and licence beside it), injected by the test, never served."""
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "pages"
WIDTHS = {"laptop": (1366, 900), "phone": (390, 844)}
THEMES = ("light", "dark")


def prepare(live_server: LiveServer) -> dict[str, Any]:
    """Entries, a hidden one, a disqualified participant, a kit and a re-score to look at."""
    world = live_server.world
    truth = world.truth()
    organizer = world.headers(world.organizer)
    ids: dict[str, Any] = {}
    with live_server.api() as api:
        for index, name in enumerate(("alice", "bob", "carol", "dave")):
            response = api.post(
                f"/api/v1/phases/{world.phase_id}/submissions",
                files={"file": ("p.csv", prediction_csv(truth.ids, truth.age + index + 1.0))},
                headers=world.headers(world.user(name)),
            )
            assert response.status_code == 201, response.text
            ids[name] = response.json()["id"]
        api.post(
            f"/api/v1/submissions/{ids['bob']}/hide",
            json={"reason": "duplicate account"},
            headers=organizer,
        )
        api.post(
            f"/api/v1/competitions/{world.competition_id}/participants/carol/disqualify",
            json={"reason": "shared the test labels"},
            headers=organizer,
        )
        api.put(
            f"/api/v1/phases/{world.phase_id}/files/starting_kit",
            files={"file": ("kit.zip", b"PK\x05\x06" + b"\x00" * 18, "application/zip")},
            headers=organizer,
        )
        # Re-scored in a phase of its own: without a job runner its re-runs stay queued, and
        # the first phase keeps its leaderboard to look at.
        other_phase = world.add_phase(name="Task 2")
        rescore = api.post(f"/api/v1/phases/{other_phase}/rescore", headers=organizer)
        assert rescore.status_code in (200, 202), rescore.text
        ids["rescore"] = rescore.json()["id"]
    return ids


def pages_by_role(live_server: LiveServer, ids: dict[str, Any]) -> dict[str | None, list[str]]:
    world = live_server.world
    phase, competition = world.phase_id, world.competition_id
    return {
        None: [
            "/",
            f"/competitions/{competition}",
            f"/phases/{phase}/leaderboard",
            f"/phases/{phase}/leaderboard?view=tradeoff",
            f"/phases/{phase}/leaderboard?view=groups",
            "/login",
            "/signup",
            "/account/reset",
            "/account/reset/not-a-link",
            "/competitions/999999",
        ],
        "alice": [
            f"/phases/{phase}/submit",
            f"/phases/{phase}/submissions",
            f"/submissions/{ids['alice']}",
            "/account/tokens",
            "/account/password",
            "/account/email",
        ],
        "bob": [f"/phases/{phase}/submissions", f"/submissions/{ids['bob']}"],
        "carol": [f"/competitions/{competition}", f"/phases/{phase}/submit"],
        "lecturer": [
            "/organize",
            f"/organize/competitions/{competition}",
            f"/organize/competitions/{competition}/audit",
            f"/organize/phases/{phase}",
            f"/organize/phases/{phase}/submissions",
            f"/organize/rescores/{ids['rescore']}",
            "/organize/testsets",
            f"/organize/testsets/{world.testset_id}",
        ],
        "root": ["/admin/outbox"],
    }


def check(page: Page, name: str, width: int, theme: str, axe: str) -> list[str]:
    """What is wrong with the page shown now: overflow, then each axe violation."""
    problems = []
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}-{theme}.png"), full_page=True)
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        problems.append(f"{name} at {width}px ({theme}): {overflow}px wider than the screen")
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(axe)
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    problems += [f"{name} at {width}px ({theme}): {json.dumps(v)}" for v in found]
    return problems


def check_everywhere(page: Page, url: str, name: str, axe: str) -> list[str]:
    """``check`` the page at ``url`` at every width, in every theme."""
    problems = []
    for width_name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        for theme in THEMES:
            page.emulate_media(color_scheme=theme)
            page.goto(url)
            problems += check(page, f"{name}-{width_name}", width, theme, axe)
    return problems


def slug(path: str) -> str:
    cleaned = path.strip("/").replace("/", "_").replace("?", "_").replace("&", "_")
    return cleaned.replace("=", "-") or "home"


def check_pages(
    live_server: LiveServer,
    chromium: Chromium,
    pages: dict[str | None, list[str]],
    prefix: str = "",
) -> list[str]:
    """``check_everywhere`` each page as the role it is listed under (None: anonymous)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    axe = AXE.read_text()
    page, url = chromium.page, live_server.url
    problems: list[str] = []
    for role, paths in pages.items():
        chromium.context.clear_cookies()
        if role is not None:
            log_in(page, url, role)
        for path in paths:
            name = f"{prefix}{role or 'anonymous'}-{slug(path)}"
            problems += check_everywhere(page, url + path, name, axe)
    return problems


def test_every_page_fits_the_screen_and_has_no_accessibility_violation(
    live_server: LiveServer, chromium: Chromium
) -> None:
    pages = pages_by_role(live_server, prepare(live_server))
    page, url = chromium.page, live_server.url

    problems = check_pages(live_server, chromium, pages)
    # The confirmation page of an irreversible action.
    chromium.context.clear_cookies()
    log_in(page, url, "lecturer")
    page.set_viewport_size({"width": WIDTHS["phone"][0], "height": WIDTHS["phone"][1]})
    page.goto(f"{url}/organize/phases/{live_server.world.phase_id}")
    page.locator("form[action$='/files/starting_kit/delete'] button").click()
    assert page.locator("[data-confirm-page]").count() == 1
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        problems += check(page, "lecturer-confirm", WIDTHS["phone"][0], theme, AXE.read_text())

    assert sum(map(len, pages.values())) * len(WIDTHS) * len(THEMES) >= 100
    assert problems == [], "\n".join(problems)


def test_the_leaderboard_finds_a_participant_by_name(
    live_server: LiveServer, chromium: Chromium
) -> None:
    prepare(live_server)
    page, url = chromium.page, live_server.url
    page.goto(f"{url}/phases/{live_server.world.phase_id}/leaderboard")
    rows = page.locator("#leaderboard tbody tr")
    expect(rows).to_have_count(2)

    page.get_by_label("Find a participant").fill("ALI")
    page.get_by_label("Find a participant").press("Enter")

    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-participant", "alice")
    page.get_by_role("link", name="Clear").click()
    expect(rows).to_have_count(2)
