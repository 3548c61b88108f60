"""Uploads in real Chromium: a progress bar that rises while the file goes, one submission per
form however often it is clicked, and the server's page (or its refusal) at the end."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx import numpy_helper
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from app.models import Submission
from scoring.inference.builders import build_red_mean_model
from tests.app.browser.conftest import Chromium, LiveServer, log_in
from tests.app.conftest import prediction_csv
from tests.app.organizer.conftest import generic_files, zip_bytes

pytestmark = pytest.mark.browser

PAD_BYTES = 6 * 1024 * 1024
THROTTLE = 2 * 1024 * 1024
"""Bytes a second the browser may send: a 6 MB upload takes about three seconds."""


def big_model() -> bytes:
    """A valid ONNX model made several MB long by an initializer no node uses."""
    import onnx

    model = onnx.load_from_string(build_red_mean_model())
    pad = np.zeros(PAD_BYTES // 4, np.float32)
    model.graph.initializer.append(numpy_helper.from_array(pad, "padding"))
    return model.SerializeToString()


def submissions_of(live_server: LiveServer) -> int:
    with live_server.world.db.sessionmaker() as session:
        return int(session.scalar(select(func.count()).select_from(Submission)) or 0)


def slow_uploads(chromium: Chromium) -> None:
    """Send at THROTTLE bytes a second, without the test's request interception (which holds
    a request's whole body before passing it on, so progress would jump to the end)."""
    chromium.context.unroute("**/*")
    cdp = chromium.context.new_cdp_session(chromium.page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": THROTTLE},
    )


def note_progress(page: Page) -> list[float]:
    """Every value the upload progress bar takes, as the page sets it."""
    seen: list[float] = []
    page.expose_function("noteProgress", lambda value: seen.append(float(value)))
    page.evaluate(
        """() => {
          const bar = document.querySelector('.upload-progress progress');
          new MutationObserver(() => window.noteProgress(bar.value))
            .observe(bar, {attributes: true, attributeFilter: ['value']});
        }"""
    )
    return seen


def choose_file(page: Page, name: str, content: bytes) -> None:
    page.set_input_files(
        "input[type=file]",
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": content}],
    )


def submit_page(live_server: LiveServer, chromium: Chromium) -> Page:
    """The submit form, as alice sees it once logged in."""
    live_server.world.user("alice")
    log_in(chromium.page, live_server.url, "alice")
    chromium.page.goto(f"{live_server.url}/phases/{live_server.world.phase_id}/submit")
    return chromium.page


def test_a_large_upload_shows_its_progress_rising_and_ends_on_the_submission_page(
    live_server: LiveServer, chromium: Chromium
) -> None:
    page = submit_page(live_server, chromium)
    choose_file(page, "model.onnx", big_model())
    slow_uploads(chromium)
    seen = note_progress(page)
    button = page.locator("form[enctype='multipart/form-data'] button[type=submit]")

    button.click()

    expect(button).to_be_disabled()
    expect(button).to_contain_text("Uploading 6.")
    expect(page.locator("form[enctype='multipart/form-data']")).to_have_attribute(
        "aria-busy", "true"
    )
    expect(page.locator(".upload-progress [role=status]")).to_contain_text("Uploaded")
    page.wait_for_url(re.compile(r"/submissions/\d+$"), timeout=60_000)
    expect(page.locator("h1")).to_contain_text("Submission")
    rising = [value for value in seen if value < 100]
    assert len(set(rising)) >= 3, seen
    assert rising == sorted(rising), seen
    assert seen[-1] == 100


def test_a_double_click_sends_the_upload_once(live_server: LiveServer, chromium: Chromium) -> None:
    page = submit_page(live_server, chromium)
    truth = live_server.world.truth()
    choose_file(page, "p.csv", prediction_csv(truth.ids, truth.age + 1.0))
    before = submissions_of(live_server)

    page.locator("form[enctype='multipart/form-data'] button[type=submit]").dblclick()

    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    expect(page.locator("h1")).to_contain_text("Submission")
    assert submissions_of(live_server) == before + 1


def test_a_refused_upload_shows_the_servers_reason_on_the_form(
    live_server: LiveServer, chromium: Chromium
) -> None:
    page = submit_page(live_server, chromium)
    choose_file(page, "p.csv", b"id,age\nnot-an-id,30\n")

    page.locator("form[enctype='multipart/form-data'] button[type=submit]").click()

    expect(page.locator("[role=alert]")).to_be_visible()
    assert page.url.endswith(f"/phases/{live_server.world.phase_id}/submit")
    # The form is live again: the participant can fix the file and send it.
    expect(page.locator("form[enctype='multipart/form-data'] button[type=submit]")).to_be_enabled()


def test_the_upload_form_still_posts_without_javascript(live_server: LiveServer) -> None:
    from playwright.sync_api import sync_playwright

    from tests.app.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    world, url = live_server.world, live_server.url
    world.user("alice")
    truth = world.truth()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(java_script_enabled=False).new_page()
            log_in_without_script(page, url)
            page.goto(f"{url}/phases/{world.phase_id}/submit")
            choose_file(page, "p.csv", prediction_csv(truth.ids, truth.age + 1.0))
            page.locator("form[enctype='multipart/form-data'] button[type=submit]").click()
            page.wait_for_url(re.compile(r"/submissions/\d+$"))
            assert page.locator(".upload-progress").count() == 0
        finally:
            browser.close()


def log_in_without_script(page: Page, url: str) -> Any:
    from tests.app.conftest import PASSWORD

    page.goto(f"{url}/login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator('[data-user="alice"]')).to_be_visible()


def test_a_test_set_upload_shows_its_progress_and_ends_on_its_report(
    live_server: LiveServer, chromium: Chromium, synthetic_source: Path
) -> None:
    page, url = chromium.page, live_server.url
    files = generic_files(synthetic_source)
    # Incompressible padding the importer does not read makes the zip a few MB long.
    files["padding/notes.bin"] = np.random.default_rng(0).bytes(4 * 1024 * 1024)
    log_in(page, url, "lecturer")
    page.goto(f"{url}/organize/testsets")
    choose_file(page, "set.zip", zip_bytes(files, compression=zipfile.ZIP_STORED))
    page.get_by_label("Image height (pixels)").fill("32")
    page.get_by_label("Image width (pixels)").fill("32")
    slow_uploads(chromium)
    seen = note_progress(page)

    page.get_by_role("button", name="Upload and check").click()

    page.wait_for_url(re.compile(r"/organize/testsets/\d+$"), timeout=60_000)
    expect(page.locator(".testset-report .n-items")).to_have_text("60")
    assert len({value for value in seen if value < 100}) >= 3, seen
