"""The organizer pages, driven through their forms as a browser would (without JavaScript)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import phase_settings
from app.errors import CsrfFailed
from app.routes.pages.forms import NO_FILE_CHOSEN
from scoring import testset as ts
from tests.app.conftest import World
from tests.app.organizer.conftest import (
    csrf_of,
    generic_files,
    log_in,
    read_labels_rows,
    submit,
    zip_bytes,
)

HTML = {"accept": "text/html"}


@pytest.fixture
def site(client: TestClient, world: World) -> TestClient:
    """The client logged in as the world's organizer through the log-in form."""
    log_in(client, "lecturer")
    return client


def post_form(site: TestClient, page_url: str, action: str, **fields: Any) -> Any:
    page = site.get(page_url, headers=HTML)
    assert page.status_code == 200, page.text
    return site.post(action, data={"csrf_token": csrf_of(page.text), **fields}, headers=HTML)


def phase_form(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Task 2",
        "description": "",
        "testset_id": "",
        "opens_at": "",
        "closes_at": "",
        "daily_limit": "5",
        "total_limit": "",
        "public_fraction": "",
        "inputs_public": "on",
        "leaderboard_public": "on",
        "entry_selection": "latest",
        "primary_column": "mae",
        "tie_policy": "dense",
        "submission_kinds": ["predictions"],
        "execution_provider": "auto",
        "model_time_limit_seconds": "900",
        "model_memory_limit_mb": "4096",
    } | fields


def test_an_organizer_runs_a_competition_from_the_pages(
    site: TestClient, world: World, synthetic_source: Path
) -> None:
    created = post_form(
        site, "/organize", "/organize/competitions", title="Fair ages 2026", description="*Be fair*"
    )
    assert created.status_code == 200
    competition_url = str(created.url.path)
    assert re.fullmatch(r"/organize/competitions/\d+", competition_url)
    assert "Fair ages 2026" in created.text

    upload_page = site.get("/organize/testsets", headers=HTML)
    uploaded = site.post(
        "/organize/testsets",
        data={
            "csrf_token": csrf_of(upload_page.text),
            "name": "hidden",
            "image_height": "32",
            "image_width": "32",
        },
        files={
            "file": ("hidden.zip", zip_bytes(generic_files(synthetic_source)), "application/zip")
        },
        headers=HTML,
    )
    assert uploaded.status_code == 200, uploaded.text
    assert re.fullmatch(r"/organize/testsets/\d+", uploaded.url.path)
    testset_id = uploaded.url.path.rsplit("/", 1)[1]
    rows = read_labels_rows(generic_files(synthetic_source))
    females = sum(r["gender"] == "female" for r in rows)
    assert f'data-group="female">{females}<' in uploaded.text
    assert "Import report" in uploaded.text

    phase = post_form(
        site,
        competition_url,
        f"{competition_url}/phases",
        **phase_form(testset_id=testset_id, public_fraction="0.5"),
    )
    assert phase.status_code == 200, phase.text
    phase_id = int(phase.url.path.rsplit("/", 1)[1])
    assert "Reveal the private leaderboard" in phase.text

    saved = post_form(
        site,
        f"/organize/phases/{phase_id}",
        f"/organize/phases/{phase_id}",
        **phase_form(
            name="Task 2 (bias)", testset_id=testset_id, public_fraction="0.5", daily_limit="3"
        ),
    )
    assert saved.status_code == 200
    assert 'value="Task 2 (bias)"' in saved.text
    assert "Phase settings saved." in saved.text

    revealed = post_form(
        site, f"/organize/phases/{phase_id}", f"/organize/phases/{phase_id}/reveal", confirmed="yes"
    )
    assert "revealed" in revealed.text
    audit = site.get(f"{competition_url}/audit", headers=HTML)
    assert [a for a in re.findall(r'data-action="([^"]+)"', audit.text)] == [
        "phase.reveal",
        "phase.update",
        "phase.create",
        "competition.create",
    ]


def test_invalid_phase_settings_are_shown_on_the_form_with_what_was_typed(
    site: TestClient, world: World
) -> None:
    url = f"/organize/competitions/{world.competition_id}"
    response = post_form(
        site, url, f"{url}/phases", **phase_form(name="Odd", public_fraction="1.5", daily_limit="2")
    )
    assert response.status_code == 422
    assert phase_settings.FRACTION_OUT_OF_RANGE.format(value="1.5") in response.text.replace(
        "&#39;", "'"
    )
    assert 'value="Odd"' in response.text


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            {"daily_limit": "three"},
            phase_settings.LIMIT_NOT_POSITIVE.format(field="daily_limit", value="three"),
        ),
        (
            {"total_limit": "9" * 30},
            phase_settings.NUMBER_TOO_LARGE.format(
                field="total_limit", high=phase_settings.MAX_COUNT, value="9" * 30
            ),
        ),
        (
            {"model_time_limit_seconds": "1.5"},
            phase_settings.POSITIVE_REQUIRED.format(field="model_time_limit_seconds", value="1.5"),
        ),
        ({"testset_id": "9" * 30}, phase_settings.TESTSET_NOT_FOUND.format(id="9" * 30)),
        (
            {"opens_at": "next monday"},
            phase_settings.NOT_A_MOMENT.format(field="opens_at", value="next monday"),
        ),
    ],
)
def test_a_phase_form_with_a_value_that_is_not_a_number_in_range_says_which(
    site: TestClient, world: World, typed: dict[str, str], message: str
) -> None:
    url = f"/organize/phases/{world.phase_id}"
    response = post_form(site, url, url, **phase_form(name="Task 1", **typed))
    assert response.status_code == 422
    assert message in response.text.replace("&#39;", "'")
    assert 'value="Task 1"' in response.text


def test_the_model_input_size_is_set_on_the_phase_form_and_blank_means_the_stored_size(
    site: TestClient, world: World
) -> None:
    url = f"/organize/phases/{world.phase_id}"
    fields = phase_form(
        name="Task 1", testset_id=str(world.testset_id), submission_kinds=["predictions", "model"]
    )
    saved = post_form(site, url, url, **fields, model_input_height="48", model_input_width="48")
    assert saved.status_code == 200, saved.text
    assert 'name="model_input_height" type="number" min="16" max="1024" value="48"' in saved.text
    public = site.get(f"/competitions/{world.competition_id}", headers=HTML)
    assert 'class="model-input-size">48×48 pixels' in public.text
    half = post_form(site, url, url, **fields, model_input_height="48", model_input_width="")
    assert half.status_code == 422
    assert phase_settings.MODEL_INPUT_SIZE_INCOMPLETE in half.text.replace("&#39;", "'")
    cleared = post_form(site, url, url, **fields, model_input_height="", model_input_width="")
    assert cleared.status_code == 200, cleared.text
    assert 'name="model_input_height" type="number" min="16" max="1024" value=""' in cleared.text
    public = site.get(f"/competitions/{world.competition_id}", headers=HTML)
    assert 'class="model-input-size">32×32 pixels' in public.text


def test_a_broken_test_set_shows_the_precise_problem(
    site: TestClient, world: World, synthetic_source: Path
) -> None:
    page = site.get("/organize/testsets", headers=HTML)
    files = generic_files(synthetic_source)
    first = read_labels_rows(files)[0]["id"]
    del files[f"images/{first}"]
    response = site.post(
        "/organize/testsets",
        data={"csrf_token": csrf_of(page.text), "image_height": "32", "image_width": "32"},
        files={"file": ("broken.zip", zip_bytes(files), "application/zip")},
        headers=HTML,
    )
    assert response.status_code == 422
    problem = ts.MISSING_IMAGE.format(row=1, id=first, path=f"images/{first}")
    assert problem.replace("'", "&#39;") in response.text


def test_moderation_table_hides_an_entry_and_re_scoring_shows_the_report(
    site: TestClient, world: World
) -> None:
    alice = world.user("alice")
    truth = world.truth()
    submission = submit(site, world, world.headers(alice), truth.age + 2.0).json()
    url = f"/organize/phases/{world.phase_id}/submissions"
    table = site.get(url, headers=HTML)
    assert f'data-submission="{submission["id"]}"' in table.text
    assert "2.000000" in table.text
    hidden = post_form(
        site,
        url,
        f"/organize/submissions/{submission['id']}/hide",
        reason="duplicate account",
        back=url,
        confirmed="yes",
    )
    assert hidden.status_code == 200
    assert 'data-hidden="true"' in hidden.text
    assert site.get(f"/api/v1/phases/{world.phase_id}/leaderboard").json() == []
    post_form(site, url, f"/organize/submissions/{submission['id']}/unhide", back=url)

    report = post_form(
        site,
        f"/organize/phases/{world.phase_id}",
        f"/organize/phases/{world.phase_id}/rescore",
        testset_id=str(world.testset_id),
        confirmed="yes",
    )
    assert report.status_code == 200
    assert re.fullmatch(r"/organize/rescores/\d+", report.url.path)
    report = site.get(f"{report.url.path}?show=all", headers=HTML)
    assert f'data-submission="{submission["id"]}"' in report.text
    assert "2.000000 →" in report.text


def test_participants_are_refused_every_organizer_page(client: TestClient, world: World) -> None:
    world.user("alice")
    log_in(client, "alice")
    for url in (
        f"/organize/competitions/{world.competition_id}",
        f"/organize/competitions/{world.competition_id}/audit",
        f"/organize/phases/{world.phase_id}",
        f"/organize/phases/{world.phase_id}/submissions",
    ):
        assert client.get(url, headers=HTML).status_code == 403, url
    assert client.get(f"/organize/testsets/{world.testset_id}", headers=HTML).status_code == 404
    dashboard = client.get("/organize", headers=HTML)
    assert dashboard.status_code == 200
    assert "create-competition" not in dashboard.text


def test_organizer_forms_need_the_csrf_token(site: TestClient, world: World) -> None:
    response = site.post(
        f"/organize/phases/{world.phase_id}/reveal", data={"csrf_token": "forged"}, headers=HTML
    )
    assert response.status_code == CsrfFailed.status_code


def test_anonymous_visitors_are_sent_to_log_in(client: TestClient, world: World) -> None:
    response = client.get("/organize", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(
    "action", ["files/starting_kit", "baselines"], ids=["starting kit", "baseline"]
)
def test_an_upload_form_sent_without_a_file_says_so_and_stores_nothing(
    site: TestClient, world: World, action: str
) -> None:
    page_url = f"/organize/phases/{world.phase_id}"
    response = post_form(site, page_url, f"{page_url}/{action}", description="no file")
    assert response.status_code == 200, response.text
    assert f"Not done: {NO_FILE_CHOSEN}" in response.text
    listed = site.get(
        f"/api/v1/phases/{world.phase_id}/submissions",
        headers=world.headers(world.organizer),
    ).json()
    assert listed == []
    assert site.get(f"/api/v1/phases/{world.phase_id}/files").json() == []
