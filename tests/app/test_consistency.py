"""Small consistencies a walk-through found: the site icon, where signing up returns to, the
Ranking column's format and the wording of the attempts count."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.routes.pages.render import ranking
from tests.app.conftest import PASSWORD, World
from tests.app.test_pages import api_submit, csrf_of, log_in, noisy


@pytest.fixture
def site(html_client: TestClient) -> TestClient:
    return html_client


def sign_up(site: TestClient, *, next: str) -> Any:
    form = site.get("/signup")
    return site.post(
        "/signup",
        data={
            "username": "newcomer",
            "email": "newcomer@example.org",
            "password": PASSWORD,
            "next": next,
            "csrf_token": csrf_of(form),
        },
    )


def test_the_site_icon_is_served_where_browsers_look(site: TestClient) -> None:
    response = site.get("/favicon.ico")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"


def test_signing_up_from_a_competition_returns_to_it(site: TestClient, world: World) -> None:
    here = f"/competitions/{world.competition_id}"
    page = site.get(here).text
    assert f'href="/signup?next={here}"' in page

    created = sign_up(site, next=here)

    assert created.status_code == 303
    assert created.headers["location"] == here


def test_signing_up_refuses_to_return_to_another_site(site: TestClient, world: World) -> None:
    created = sign_up(site, next="//evil.example/")

    assert created.headers["location"] == "/"


def test_the_ranking_always_shows_one_decimal() -> None:
    assert [ranking(3.0), ranking(2.4), ranking(1.5)] == ["3.0", "2.4", "1.5"]


def test_the_leaderboard_counts_attempts_and_says_failed_ones_are_included(
    site: TestClient, world: World
) -> None:
    alice = world.user("alice")
    api_submit(site, world, alice, noisy(world, 2.0, 0))

    page = site.get(f"/phases/{world.phase_id}/leaderboard").text

    assert "Attempts</button>" in page
    assert "counts every submission, failed ones included" in page
    assert "Entries</button>" not in page


def test_the_competition_page_says_the_settings_in_words(site: TestClient, world: World) -> None:
    world.update_phase(entry_selection="best", primary_column="mae", total_limit=None)

    page = site.get(f"/competitions/{world.competition_id}").text

    assert "5 a day, no limit in total" in page
    assert "your best submission by MAE" in page
    assert "by mae" not in page and "no in total" not in page


def test_the_phase_settings_come_first_and_explain_each_choice(
    site: TestClient, world: World
) -> None:
    log_in(site, "lecturer")

    page = site.get(f"/organize/phases/{world.phase_id}").text

    assert page.index('id="settings-title"') < page.index('id="rescore-title"')
    assert "equal values share a rank and the next rank follows on (1, 1, 2)" in page
    assert "the participant&#39;s latest submission" in page
    assert ">MAE</option>" in page
    assert "24-hour clock" in page


def test_the_home_page_marks_the_competitions_you_joined(site: TestClient, world: World) -> None:
    world.user("alice")
    anonymous = site.get("/").text
    log_in(site, "alice")

    joined = site.get("/").text

    assert 'data-joined="true"' not in anonymous
    assert 'data-joined="true"' in joined


def test_the_leaderboard_offers_a_jump_to_your_row(site: TestClient, world: World) -> None:
    alice = world.user("alice")
    api_submit(site, world, alice, noisy(world, 2.0, 0))
    log_in(site, "alice")

    page = site.get(f"/phases/{world.phase_id}/leaderboard").text

    assert 'href="#my-row"' in page
    assert re.search(r'data-participant="alice"[^>]*id="my-row"', page)
