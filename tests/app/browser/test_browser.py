"""A participant's whole path through the site in real headless Chromium."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from app.db import utcnow
from app.jobs.execute import run_submission
from app.services import competitions, submissions
from tests.app.browser.conftest import Chromium, LiveServer, log_in
from tests.app.conftest import PASSWORD, World, prediction_csv

pytestmark = pytest.mark.browser

OTHERS = (("amara", 2.5), ("bruno", 6.0), ("chen", 11.0))


def noisy(world: World, sd: float, seed: int) -> Any:
    truth = world.truth()
    return truth.age + np.random.default_rng(seed).normal(0, sd, len(truth))


def seed_other_participants(live_server: LiveServer) -> None:
    """Three participants who submitted through the API before our participant arrives."""
    world = live_server.world
    with live_server.api() as api:
        for seed, (name, sd) in enumerate(OTHERS):
            user = world.user(name)
            response = api.post(
                f"/api/v1/phases/{world.phase_id}/submissions",
                files={
                    "file": (
                        "predictions.csv",
                        prediction_csv(world.truth().ids, noisy(world, sd, seed)),
                    )
                },
                headers=world.headers(user),
            )
            assert response.status_code == 201, response.text


def participants_in_order(page: Page) -> list[str]:
    return page.locator("#leaderboard tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.participant)"
    )


def mae_values_in_order(page: Page) -> list[float]:
    return [
        float(value)
        for value in page.locator('#leaderboard tbody td[data-column="mae"]').evaluate_all(
            "cells => cells.map(cell => cell.dataset.value)"
        )
    ]


def test_participant_signs_up_joins_submits_and_finds_their_row(
    live_server: LiveServer, chromium: Chromium, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seed_other_participants(live_server)
    world, url, page = live_server.world, live_server.url, chromium.page

    page.goto(url)
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("dana")
    page.get_by_label("E-mail").fill("dana@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create the account").click()
    expect(page.locator('[data-user="dana"]')).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    log_in(page, url, "dana")

    page.get_by_role("link", name="Age estimation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Age estimation")
    expect(page.locator(".badge.synthetic").first).to_be_visible()
    page.get_by_role("button", name="Join this competition").click()
    expect(page.locator('[data-joined="true"]')).to_be_visible()

    page.get_by_role("link", name="Submit", exact=True).click()
    expect(page).to_have_url(f"{url}/phases/{world.phase_id}/submit")
    predictions = tmp_path / "predictions.csv"
    predictions.write_bytes(prediction_csv(world.truth().ids, noisy(world, 3.5, seed=7)))
    page.get_by_label("File").set_input_files(predictions)
    page.get_by_label("Description").fill("red-channel regression")
    page.get_by_role("button", name="Submit", exact=True).click()

    page.wait_for_url(re.compile(r".*/submissions/\d+$"))
    expect(page.locator("#submission")).to_have_attribute("data-status", "finished")
    expect(page.locator("#scores td[data-column='mae']")).to_have_text(re.compile(r"^\d+\.\d{6}$"))
    expect(page.locator("table.groups")).to_have_count(4)

    page.get_by_role("link", name="Leaderboard").first.click()
    own_row = page.locator('#leaderboard tr[data-participant="dana"]')
    expect(own_row).to_be_visible()
    expect(own_row).to_have_class(re.compile("mine"))
    expect(page.locator("#leaderboard tbody tr")).to_have_count(len(OTHERS) + 1)
    ranked = participants_in_order(page)
    expect(page.locator("#leaderboard td.best")).not_to_have_count(0)

    artifacts = request.config.rootpath / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "leaderboard.png"), full_page=True)

    mae_header = page.locator('#leaderboard th[data-column="mae"]')
    mae_header.get_by_role("button").click()
    expect(mae_header).to_have_attribute("aria-sort", "ascending")
    ascending = mae_values_in_order(page)
    assert ascending == sorted(ascending)
    by_mae = participants_in_order(page)
    assert sorted(by_mae) == sorted(ranked)

    mae_header.get_by_role("button").click()
    expect(mae_header).to_have_attribute("aria-sort", "descending")
    assert mae_values_in_order(page) == sorted(ascending, reverse=True)
    assert participants_in_order(page) == list(reversed(by_mae))

    page.locator("#leaderboard thead th").first.get_by_role("button").click()
    assert participants_in_order(page) == ranked

    assert chromium.offsite_requests == []


def test_pending_submission_page_updates_itself_when_the_result_arrives(
    live_server: LiveServer, chromium: Chromium
) -> None:
    world, url, page = live_server.world, live_server.url, chromium.page
    erin = world.user("erin")
    content = prediction_csv(world.truth().ids, noisy(world, 4.0, seed=3))
    with world.db.transaction() as session:
        queued = submissions.create_submission(
            session,
            world.settings,
            phase=competitions.get_phase(session, world.phase_id),
            user=erin,
            now=utcnow(),
            upload=submissions.Upload("predictions.csv", io.BytesIO(content)),
        )
        submission_id = queued.id

    log_in(page, url, "erin")
    page.goto(f"{url}/submissions/{submission_id}")
    expect(page.locator("#submission")).to_have_attribute("data-status", "queued")
    expect(page.locator("section.pending progress")).to_be_visible()
    expect(page.locator("[data-queue-position]")).to_have_text("1")

    # The live server has no job runner: evaluate here, as a worker would, while the page polls.
    run_submission(world.db, world.settings, submission_id, worker="test")

    expect(page.locator("#submission")).to_have_attribute("data-status", "finished", timeout=20_000)
    expect(page.locator("section.pending")).to_have_count(0)
    expect(page.locator("#scores")).to_be_visible()
    assert chromium.offsite_requests == []
