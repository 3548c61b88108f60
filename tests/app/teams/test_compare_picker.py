"""The compare page's picker on a big competition: 50 candidates a page, a search, and the
submissions already chosen kept on top (checked) whatever page is shown; an id no row can have
is simply not chosen, never an error."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.models import Submission
from tests.app.conftest import World
from tests.app.teams.helpers import log_in
from tests.app.test_leaderboard_pages import seed_crowd

CROWD = 120
"""Three pages of candidates: 50, 50 and 20."""


def picker(client: TestClient, world: World, **params: Any) -> tuple[int, list[int], list[int]]:
    """(status, candidate ids listed, those checked) of the organizer's compare page."""
    page = client.get(f"/competitions/{world.competition_id}/compare", params=params)
    listed = [int(i) for i in re.findall(r'data-candidate="(\d+)"', page.text)]
    checked = [int(i) for i in re.findall(r'value="(\d+)" id="pick-\d+" checked', page.text)]
    return page.status_code, listed, checked


def crowd_submissions(world: World) -> list[int]:
    seed_crowd(world, CROWD)
    with world.db.sessionmaker() as session:
        return list(session.scalars(select(Submission.id).order_by(Submission.id)))


def test_candidates_come_50_a_page_and_a_search_finds_one(client: TestClient, world: World) -> None:
    ids = crowd_submissions(world)
    log_in(client, world.organizer.username)
    assert picker(client, world)[1] == ids[:50]
    assert picker(client, world, page=3)[1] == ids[100:]
    assert picker(client, world, page=99)[1] == ids[100:], "past the end: the last page"
    assert picker(client, world, q="p0117")[1] == [ids[117]]
    status, listed, _ = picker(client, world, q="nobody%")
    page = client.get(f"/competitions/{world.competition_id}/compare", params={"q": "nobody%"})
    assert (status, listed) == (200, [])
    assert "No submission matches" in page.text


def test_chosen_submissions_stay_on_top_and_checked_on_any_page(
    client: TestClient, world: World
) -> None:
    ids = crowd_submissions(world)
    log_in(client, world.organizer.username)
    chosen = f"{ids[3]},{ids[110]}"
    status, listed, checked = picker(client, world, submissions=chosen, page=2)
    assert status == 200
    assert listed[:2] == [ids[3], ids[110]] and sorted(checked) == [ids[3], ids[110]]
    assert listed[2:] == ids[50:100], "the page itself, the chosen ones not twice"


def test_ids_no_row_can_have_are_not_chosen(client: TestClient, world: World) -> None:
    ids = crowd_submissions(world)
    log_in(client, world.organizer.username)
    first_twenty = [i for i in ids if i <= 20]  # as many as a comparison holds are shown chosen
    many = ",".join(str(i) for i in range(1, 5_000))
    for chosen, on_top in (
        ("99999999999999999999", []),
        (f"{ids[7]},0,-5,abc,{2**31},²,٣", [ids[7]]),
        (many, first_twenty),
    ):
        status, listed, checked = picker(client, world, submissions=chosen)
        assert status == 200
        assert sorted(checked) == on_top
        assert listed == on_top + [i for i in ids[:50] if i not in on_top]
