"""The long list pages and the phase settings in real Chromium, at a laptop's and a phone's
width, in both themes: filled past one page, nothing wider than the screen, no axe violation.
Screenshots go to test-artifacts/pages/ beside the other pages'."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from app.models import Rescore
from tests.app.browser.conftest import Chromium, LiveServer, log_in
from tests.app.browser.test_pages_browser import check_pages
from tests.app.organizer.test_list_pages import (
    add_people,
    seed_audit,
    seed_competitions,
    seed_my_submissions,
    seed_rescores,
)

pytestmark = pytest.mark.browser


def fill(live_server: LiveServer) -> int:
    """Every list past its first page; returns a re-scoring of 120 submissions."""
    world = live_server.world
    world.user("alice", join=False)
    with world.db.transaction() as session:
        people = add_people(session, world)
        seed_audit(session, world)
        seed_rescores(session, world)
        seed_competitions(session, world)
        seed_my_submissions(session, world)
        run = Rescore(
            phase_id=world.phase_id,
            actor_id=world.organizer.id,
            submission_ids=[submission.id for _, submission in people],
        )
        session.add(run)
        session.flush()
        return run.id


def pages_by_role(live_server: LiveServer, rescore_id: int) -> dict[str | None, list[str]]:
    phase, competition = live_server.world.phase_id, live_server.world.competition_id
    return {
        "lecturer": [
            "/organize",
            f"/organize/competitions/{competition}?page=2",
            f"/organize/competitions/{competition}/audit?page=2",
            f"/organize/phases/{phase}",
            f"/organize/phases/{phase}/submissions?page=2",
            f"/organize/phases/{phase}/submissions?q=row01&status=queued",
            f"/organize/phases/{phase}/rescores",
            f"/organize/rescores/{rescore_id}?page=3",
        ],
        "alice": ["/", "/?q=row1", f"/phases/{phase}/submissions?page=2"],
    }


def test_every_list_page_fits_the_screen_and_has_no_accessibility_violation(
    live_server: LiveServer, chromium: Chromium
) -> None:
    pages = pages_by_role(live_server, fill(live_server))

    problems = check_pages(live_server, chromium, pages, prefix="lists-")

    assert problems == [], "\n".join(problems)


def settings_columns(page: Page) -> int:
    """How many columns the phase settings' groups are laid out in."""
    lefts = page.eval_on_selector_all(
        "#phase-settings fieldset[data-group]",
        "groups => groups.map(g => Math.round(g.getBoundingClientRect().left))",
    )
    return len(set(lefts))


def test_the_phase_settings_stand_in_columns_on_a_laptop_and_one_column_on_a_phone(
    live_server: LiveServer, chromium: Chromium
) -> None:
    page, url = chromium.page, live_server.url
    log_in(page, url, "lecturer")
    phase_url = f"{url}/organize/phases/{live_server.world.phase_id}"

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(phase_url)
    laptop = settings_columns(page)
    settings_top = page.locator("#settings-title").bounding_box()
    rescore_top = page.locator("#rescore-title").bounding_box()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(phase_url)
    phone = settings_columns(page)

    assert laptop >= 2
    assert phone == 1
    assert settings_top is not None and rescore_top is not None
    assert settings_top["y"] < rescore_top["y"]
    groups = page.eval_on_selector_all(
        "#phase-settings fieldset[data-group]", "gs => gs.map(g => g.dataset.group)"
    )
    assert groups == ["about", "schedule", "submissions", "ranking", "visibility", "models"]
