"""An organizer runs a competition in real headless Chromium: creates it, uploads the hidden test
set, opens a phase, and a participant's submission appears on its leaderboard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.app.browser.conftest import Chromium, LiveServer, log_in
from tests.app.conftest import prediction_csv
from tests.app.organizer.conftest import generic_files, read_labels_rows, zip_bytes

pytestmark = pytest.mark.browser


def test_organizer_creates_a_competition_uploads_a_test_set_opens_a_phase_and_sees_an_entry(
    live_server: LiveServer,
    chromium: Chromium,
    synthetic_source: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    world, url, page = live_server.world, live_server.url, chromium.page
    log_in(page, url, "lecturer")

    page.goto(f"{url}/organize")
    page.get_by_label("Title").fill("Fair ages 2026")
    page.get_by_label("Description").fill("Estimate the **apparent** age, fairly.")
    page.get_by_role("button", name="Create competition").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fair ages 2026")
    competition_url = page.url
    competition_id = int(competition_url.rstrip("/").rsplit("/", 1)[1])

    archive = tmp_path / "hidden-test-set.zip"
    archive.write_bytes(zip_bytes(generic_files(synthetic_source), root="release/"))
    page.get_by_role("link", name="Upload a test set").click()
    page.get_by_label("Zip file").set_input_files(str(archive))
    page.get_by_label("Name (optional)").fill("hidden v1")
    page.get_by_label("Image height (pixels)").fill("32")
    page.get_by_label("Image width (pixels)").fill("32")
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", name="Import report")).to_be_visible()
    rows = read_labels_rows(generic_files(synthetic_source))
    expect(page.locator(".testset-report .n-items")).to_have_text(str(len(rows)))
    females = sum(r["gender"] == "female" for r in rows)
    expect(page.locator('table[data-attribute="gender"] td[data-group="female"]')).to_have_text(
        str(females)
    )

    page.goto(competition_url)
    form = page.locator("#new-phase")
    form.get_by_label("Name", exact=True).fill("Task 1: augmentation")
    choice = form.get_by_label("Hidden test set")
    uploaded = choice.locator("option", has_text="hidden v1").get_attribute("value")
    assert uploaded is not None
    choice.select_option(uploaded)
    form.get_by_label("Submissions per day").fill("3")
    form.get_by_role("button", name="Add phase").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Task 1: augmentation")
    expect(page.get_by_role("heading", level=1)).to_contain_text("open")
    phase_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    participant = world.user("zoe", join=False)
    headers = world.headers(participant)
    truth = world.truth()  # the same synthetic items as the uploaded zip
    with live_server.api() as api:
        joined = api.post(f"/api/v1/competitions/{competition_id}/join", headers=headers)
        assert joined.status_code == 201, joined.text
        values = truth.age + np.random.default_rng(0).normal(0, 3.0, len(truth))
        submitted = api.post(
            f"/api/v1/phases/{phase_id}/submissions",
            files={"file": ("predictions.csv", prediction_csv(truth.ids, values))},
            headers=headers,
        )
        assert submitted.status_code == 201, submitted.text
        assert submitted.json()["status"] == "finished"

    artifacts = request.config.rootpath / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.goto(f"{url}/organize/phases/{phase_id}/submissions")
    expect(page.locator("#moderation tbody tr")).to_have_count(1)
    expect(page.locator("#moderation tbody tr th")).to_have_text("zoe")
    page.screenshot(path=str(artifacts / "organizer-moderation.png"), full_page=True)

    page.get_by_role("link", name="Leaderboard").first.click()
    entry = page.locator('#leaderboard tbody tr[data-participant="zoe"]')
    expect(entry).to_have_count(1)
    mae = float(np.mean(np.abs(values - truth.age)))
    expect(entry.locator('td[data-column="mae"]')).to_contain_text(f"{mae:.6f}")
    page.screenshot(path=str(artifacts / "organizer.png"), full_page=True)
    assert chromium.offsite_requests == []
