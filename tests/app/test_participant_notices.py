"""Participants are told where they look: a disqualification with its reason, and a hidden
entry with the organizers' reason."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import World
from tests.app.test_pages import api_submit, log_in, noisy


@pytest.fixture
def site(html_client: TestClient) -> TestClient:
    return html_client


def as_organizer(site: TestClient, world: World, path: str, reason: str) -> None:
    response = site.post(
        path,
        json={"reason": reason},
        headers=world.headers(world.organizer) | {"accept": "application/json"},
    )
    assert response.status_code == 200, response.text


def disqualify(site: TestClient, world: World, username: str, reason: str) -> None:
    as_organizer(
        site,
        world,
        f"/api/v1/competitions/{world.competition_id}/participants/{username}/disqualify",
        reason,
    )


def hide(site: TestClient, world: World, submission_id: int, reason: str) -> None:
    as_organizer(site, world, f"/api/v1/submissions/{submission_id}/hide", reason)


def test_a_disqualified_participant_sees_the_reason_and_no_submit_button(
    site: TestClient, world: World
) -> None:
    world.user("bob")
    disqualify(site, world, "bob", "shared the test labels")
    log_in(site, "bob")

    competition = site.get(f"/competitions/{world.competition_id}").text
    submit = site.get(f"/phases/{world.phase_id}/submit").text

    for page in (competition, submit):
        assert 'data-disqualified="true"' in page
        assert "shared the test labels" in page
    assert 'data-joined="disqualified"' in competition
    assert 'data-joined="true"' not in competition
    assert f'href="/phases/{world.phase_id}/submit"' not in competition
    assert 'name="file"' not in submit


def test_a_participant_in_good_standing_sees_the_submit_button(
    site: TestClient, world: World
) -> None:
    world.user("alice")
    log_in(site, "alice")

    competition = site.get(f"/competitions/{world.competition_id}").text

    assert f'href="/phases/{world.phase_id}/submit"' in competition
    assert "data-disqualified" not in competition


def test_a_hidden_submission_shows_as_hidden_with_the_reason(
    site: TestClient, world: World
) -> None:
    alice = world.user("alice")
    submission_id = api_submit(site, world, alice, noisy(world, 3.0, 1))
    hide(site, world, submission_id, "duplicate account")
    log_in(site, "alice")

    mine = site.get(f"/phases/{world.phase_id}/submissions").text
    detail = site.get(f"/submissions/{submission_id}").text

    for page in (mine, detail):
        assert 'data-hidden="true"' in page
        assert "duplicate account" in page
    assert 'data-entry="true"' not in mine
