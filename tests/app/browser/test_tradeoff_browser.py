"""The leaderboard's views (table, trade-off charts, per-group table), in real headless Chromium."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from app.models import Submission, User
from app.services import competitions
from tests.app.browser.conftest import Chromium, LiveServer, log_in
from tests.app.conftest import World, prediction_csv

pytestmark = pytest.mark.browser


def predictions(world: World, kind: str, seed: int) -> Any:
    """Entries with different trade-offs between accuracy and the four biases."""
    truth = world.truth()
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, len(truth))
    if kind == "accurate-but-biased":
        # Good on average, but much worse for older faces and for men.
        offset = np.where(truth.age >= 40, 6.0, 1.0) + np.where(truth.gender == "male", 1.5, 0.0)
        return truth.age + offset + noise
    if kind == "fair-but-inaccurate":
        return truth.age + 9.0 + 0.3 * noise
    if kind == "shrunk":
        # Pulls every prediction towards 35: the course's classic regression to the mean.
        return 0.6 * truth.age + 14.0 + 2.0 * noise
    if kind == "noisy":
        return truth.age + 5.0 * noise
    return truth.age + 3.5 * noise + np.where(truth.expression == "happy", 2.0, 0.0)


PARTICIPANTS = (
    ("amara", "accurate-but-biased"),
    ("bruno", "fair-but-inaccurate"),
    ("chen", "shrunk"),
    ("dana", "balanced"),
    ("emil", "noisy"),
)


def seed_board(live_server: LiveServer) -> None:
    world = live_server.world
    with world.db.transaction() as session:
        organizer = session.get(User, world.organizer.id)
        assert organizer is not None
        competitions.join(
            session, competitions.get_competition(session, world.competition_id), organizer
        )
    entrants = [(world.user(name), kind) for name, kind in PARTICIPANTS]
    entrants.append((world.organizer, "constant"))
    with live_server.api() as api:
        for seed, (user, kind) in enumerate(entrants):
            values = (
                np.full(len(world.truth()), 30.0)
                if kind == "constant"
                else predictions(world, kind, seed)
            )
            response = api.post(
                f"/api/v1/phases/{world.phase_id}/submissions",
                files={"file": ("predictions.csv", prediction_csv(world.truth().ids, values))},
                headers=world.headers(user),
            )
            assert response.status_code == 201, response.text
            if kind == "constant":
                with world.db.transaction() as session:
                    session.execute(
                        update(Submission)
                        .where(Submission.id == response.json()["id"])
                        .values(is_baseline=True, description="predict 30")
                    )


def test_trade_off_charts_and_group_table_render_and_are_saved_as_a_screenshot(
    live_server: LiveServer, chromium: Chromium, request: pytest.FixtureRequest
) -> None:
    seed_board(live_server)
    world, url, page = live_server.world, live_server.url, chromium.page
    board = f"{url}/phases/{world.phase_id}/leaderboard"
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    log_in(page, url, "dana")
    page.goto(board)

    # The default view is the ranking table alone, its Pareto badges included.
    views = page.get_by_role("navigation", name="Leaderboard views")
    expect(page.locator("#leaderboard tbody tr")).to_have_count(len(PARTICIPANTS) + 1)
    expect(page.locator("#leaderboard .badge.pareto")).not_to_have_count(0)
    expect(page.locator("figure.chart")).to_have_count(0)
    expect(page.locator("#group-table")).to_have_count(0)

    views.get_by_role("link", name="Trade-off").click()
    expect(page).to_have_url(f"{board}?view=tradeoff")
    expect(views.locator('[aria-current="page"]')).to_have_text("Trade-off")
    charts = page.locator("figure.chart")
    expect(charts).to_have_count(4)
    for index in range(4):
        chart = charts.nth(index)
        # uPlot (vendored) draws the chart; the table of its front, for readers without
        # scripts, makes way for it.
        expect(chart.locator("table.tradeoff-table")).to_be_hidden()
        expect(chart.locator(".uplot-holder canvas")).to_be_visible()
        expect(chart.locator("button.point-button")).to_have_count(len(PARTICIPANTS) + 1)
        expect(chart.locator("button.point-button.front")).not_to_have_count(0)
        expect(chart.get_by_role("button", name="dana (you)")).to_have_count(1)
        box = chart.locator(".uplot-holder canvas").bounding_box()
        assert box is not None and box["width"] > 250 and box["height"] > 180

    # Every point is reachable by keyboard: Tab reaches the entry's button, which names it.
    first = charts.nth(0)
    first.locator("button.log-toggle").focus()
    page.keyboard.press("Tab")
    focused = first.locator("button.point-button").first
    expect(focused).to_be_focused()
    expect(first.locator("output.point-name")).to_contain_text(" · MAE ")

    # The log scale spreads out entries an outlier would flatten, and toggles back.
    toggle = first.get_by_role("button", name="Log scale")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(first).to_have_attribute("data-scale", "log")
    expect(first.locator(".uplot-holder canvas")).to_have_count(1)
    toggle.click()
    expect(first).to_have_attribute("data-scale", "linear")
    expect(page.locator("#leaderboard")).to_have_count(0)

    artifacts = request.config.rootpath / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "tradeoff.png"), full_page=True)
    page.locator("#tradeoff").screenshot(path=str(artifacts / "tradeoff-charts.png"))

    views.get_by_role("link", name="Groups").click()
    expect(page).to_have_url(f"{board}?view=groups")
    expect(page.locator("#group-table")).to_have_attribute("data-attribute", "age")
    expect(page.locator("#group-table td.best")).not_to_have_count(0)
    page.get_by_role("link", name="Gender", exact=True).click()
    expect(page.locator("#group-table")).to_have_attribute("data-attribute", "gender")
    expect(page).to_have_url(f"{board}?view=groups&groups=gender")
    page.get_by_role("link", name="Age", exact=True).click()
    expect(page.locator("#group-table")).to_have_attribute("data-attribute", "age")
    page.screenshot(path=str(artifacts / "groups.png"), full_page=True)

    views.get_by_role("link", name="Leaderboard").click()
    expect(page).to_have_url(board)
    expect(page.locator("#leaderboard tbody tr")).to_have_count(len(PARTICIPANTS) + 1)
    assert errors == []
    assert chromium.offsite_requests == []


def test_without_scripts_each_chart_is_the_table_of_its_front(
    live_server: LiveServer, chromium: Chromium
) -> None:
    seed_board(live_server)
    context = chromium.browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/phases/{live_server.world.phase_id}/leaderboard?view=tradeoff")

    charts = page.locator("figure.chart")
    expect(charts).to_have_count(4)
    for index in range(4):
        chart = charts.nth(index)
        expect(chart.locator("table.tradeoff-table")).to_be_visible()
        expect(chart.locator("table.tradeoff-table tbody tr")).not_to_have_count(0)
        expect(chart.locator("canvas")).to_have_count(0)
    context.close()
