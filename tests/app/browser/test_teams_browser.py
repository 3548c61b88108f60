"""Teams and the compare table in real headless Chromium: two users form a team, both submit,
one leaderboard row appears; one of them compares three submissions across two phases and
downloads the LaTeX table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.models import TeamMode
from tests.app.browser.conftest import Chromium, LiveServer
from tests.app.browser.test_browser import log_in
from tests.app.conftest import prediction_csv

pytestmark = pytest.mark.browser


def submit_through_the_form(page: Page, url: str, phase_id: int, file: Path, metadata: str) -> int:
    page.goto(f"{url}/phases/{phase_id}/submit")
    page.get_by_label("File").set_input_files(file)
    page.get_by_label("Description").fill(file.stem)
    page.locator("#metadata").fill(metadata)
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url(re.compile(r".*/submissions/\d+$"))
    expect(page.locator("#submission")).to_have_attribute("data-status", "finished")
    return int(page.url.rsplit("/", 1)[1])


def test_two_users_form_a_team_both_submit_and_compare_across_phases(
    live_server: LiveServer, chromium: Chromium, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    world, url = live_server.world, live_server.url
    world.update_competition(team_mode=TeamMode.OPTIONAL, max_team_size=4)
    task2 = world.add_phase(name="Task 2")
    world.user("alice")
    world.user("bob")
    truth = world.truth()
    files = {}
    for name, offset in (("plain", 3.0), ("augmented", 1.0), ("weighted-loss", 2.0)):
        files[name] = tmp_path / f"{name}.csv"
        files[name].write_bytes(prediction_csv(truth.ids, truth.age + offset))
    artifacts = request.config.rootpath / "test-artifacts"
    artifacts.mkdir(exist_ok=True)

    alice = chromium.page
    log_in(alice, url, "alice")
    alice.goto(f"{url}/competitions/{world.competition_id}")
    alice.get_by_label("New team").fill("Owls")
    alice.get_by_role("button", name="Create team").click()
    expect(alice.locator("#team .team-name")).to_have_text("Owls")
    code = alice.locator("#team .invite-code").inner_text()

    bob_context = chromium.browser.new_context(viewport={"width": 1440, "height": 900})
    bob = bob_context.new_page()
    try:
        log_in(bob, url, "bob")
        bob.goto(f"{url}/competitions/{world.competition_id}")
        bob.get_by_label("Invite code").fill(code)
        bob.get_by_role("button", name="Join team").click()
        expect(bob.locator("#team .team-members li")).to_have_count(2)
        submit_through_the_form(bob, url, world.phase_id, files["plain"], "model=resnet50")
    finally:
        bob_context.close()
    ids = [
        submit_through_the_form(
            alice, url, world.phase_id, files["augmented"], "model=resnet50\naugmentation=age"
        ),
        submit_through_the_form(alice, url, task2, files["weighted-loss"], "loss=weighted-l1"),
    ]

    alice.goto(f"{url}/phases/{world.phase_id}/leaderboard")
    rows = alice.locator("#leaderboard tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-participant", "Owls")
    expect(rows.first.locator("th")).to_have_attribute("title", "Team members: alice, bob")
    alice.screenshot(path=str(artifacts / "team-leaderboard.png"), full_page=True)

    alice.goto(f"{url}/competitions/{world.competition_id}")
    alice.get_by_role("link", name="Compare submissions").click()
    expect(alice.locator("#candidates tbody tr")).to_have_count(3)
    for checkbox in alice.locator('#candidates input[name="submissions"]').all():
        checkbox.check()
    alice.get_by_label(f"reference #{ids[0]}").check()
    alice.get_by_role("button", name="Compare").click()
    table = alice.locator("#comparison")
    expect(table.locator("tbody tr[data-submission]")).to_have_count(3)
    expect(table.locator("th[data-metadata]")).to_have_text(["model", "augmentation", "loss"])
    expect(table.locator(f'tr[data-submission="{ids[0]}"] td[data-column="mae"]')).to_have_class(
        re.compile("best")
    )
    alice.screenshot(path=str(artifacts / "compare.png"), full_page=True)

    with alice.expect_download() as download_info:
        alice.locator("#download-tex").click()
    saved = tmp_path / "compare.tex"
    download_info.value.save_as(saved)
    latex = saved.read_text()
    assert r"\toprule" in latex and r"\bottomrule" in latex
    assert r"\textbf{1.000}" in latex  # the augmented model's MAE, the best of the three
    assert "weighted-l1" in latex
    assert chromium.offsite_requests == []
