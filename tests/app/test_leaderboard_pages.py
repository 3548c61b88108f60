"""The leaderboard page of a big board (issue 15, issue 16 item 8): 50 rows a page, search by
name, "jump to my row", the whole table as a download; and conditional GETs (ETag, 304) on the
page and the JSON, right for each viewer."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from app.routes.conditional import PRIVATE, SHARED
from app.routes.pages.board_page import CSRF_STAND_IN
from app.security import hash_password
from scoring.metrics import score
from tests.app.conftest import PASSWORD, World
from tests.app.test_pages import api_submit, leaderboard_rows, log_in, page
from tests.support.crowd import add_crowd
from tests.support.pages import csrf_of

CROWD = 160
"""Four pages of 50: rows 1-50, 51-100, 101-150, 151-160."""
VIEWER = "p0109"
"""At position 110: on page 3 of 4."""


def seed_crowd(world: World, count: int = CROWD) -> list[int]:
    """``count`` participants p0000... at positions 1, 2, ... (``add_crowd``), who log in
    with the tests' password."""
    truth = world.truth()
    with world.db.transaction() as session:
        return add_crowd(
            session,
            competition_id=world.competition_id,
            phase_id=world.phase_id,
            count=count,
            password_hash=hash_password(PASSWORD),
            report=score(truth, truth.age + 1.0).to_dict(),
        )


@pytest.fixture
def crowd(world: World) -> list[int]:
    return seed_crowd(world)


def board_page(site: TestClient, world: World, **params: Any) -> Any:
    return site.get(f"/phases/{world.phase_id}/leaderboard", params=params)


def positions(response: Any) -> list[int]:
    return [int(row.attrs["data-position"]) for row in leaderboard_rows(response)]


def test_the_page_shows_50_rows_with_positions_of_the_whole_board(
    site: TestClient, world: World, crowd: list[int]
) -> None:
    first = board_page(site, world)
    second = board_page(site, world, page=2)

    assert positions(first) == list(range(1, 51))
    assert positions(second) == list(range(51, 101))
    pager = page(second).find("nav", **{"class": "pager"})
    assert "Rows 51–100 of 160" in pager.clean_text()
    assert pager.find("span", **{"aria-current": "page"}).clean_text() == "Page 2"


def test_a_page_past_the_end_shows_the_last_page(
    site: TestClient, world: World, crowd: list[int]
) -> None:
    response = board_page(site, world, page=99)

    assert response.status_code == 200
    assert positions(response) == list(range(151, 161))


def test_search_finds_participants_by_name_and_keeps_their_positions(
    site: TestClient, world: World, crowd: list[int]
) -> None:
    response = board_page(site, world, q="P010")

    assert positions(response) == list(range(101, 111))
    assert "10 of 160 entries match “P010”" in page(response).find("p", id="search-result").text


def test_a_search_with_no_match_says_so(site: TestClient, world: World, crowd: list[int]) -> None:
    response = board_page(site, world, q="nobody-here")

    assert response.status_code == 200
    shown = page(response)
    assert shown.find("p", id="no-match").clean_text() == (
        "No participant or team matches “nobody-here”."
    )
    assert shown.find_all("table", id="leaderboard") == []


def jump_links(response: Any) -> list[str]:
    return [a.attrs["href"] for a in page(response).find_all("a", **{"data-jump": "mine"})]


def test_the_viewer_on_page_3_of_4_gets_a_link_to_their_row(
    site: TestClient, world: World, crowd: list[int]
) -> None:
    log_in(site, VIEWER)

    first = board_page(site, world)
    third = board_page(site, world, page=3)

    assert jump_links(first) == [f"/phases/{world.phase_id}/leaderboard?page=3#my-row"]
    assert page(first).find_all("tr", id="my-row") == []
    mine = page(third).find("tr", id="my-row")
    assert (mine.attrs["data-participant"], mine.attrs["data-position"]) == (VIEWER, "110")
    assert jump_links(third) == ["#my-row"]


def test_anonymous_visitors_get_no_jump_link(
    site: TestClient, world: World, crowd: list[int]
) -> None:
    assert jump_links(board_page(site, world)) == []


def test_the_whole_table_is_a_download(site: TestClient, world: World, crowd: list[int]) -> None:
    links = page(board_page(site, world)).find_all("a")
    (href,) = [a.attrs["href"] for a in links if a.clean_text() == "Whole table (CSV)"]
    download = site.get(href)

    assert download.status_code == 200
    assert len(download.text.strip().splitlines()) == CROWD + 1


def test_the_page_answers_304_to_its_etag_until_a_new_score(
    site: TestClient, world: World, crowd: list[int]
) -> None:
    first = board_page(site, world)
    etag = first.headers["etag"]
    again = board_page(site, world, page=1)  # another URL of the same page: its own tag
    unchanged = site.get(f"/phases/{world.phase_id}/leaderboard", headers={"if-none-match": etag})
    api_submit(site, world, world.user("newcomer"), world.truth().age)
    changed = site.get(f"/phases/{world.phase_id}/leaderboard", headers={"if-none-match": etag})

    assert first.headers["cache-control"] == PRIVATE
    assert again.headers["etag"] != etag
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["etag"] == etag
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert positions(changed)[0] == 1 and "newcomer" in changed.text


def test_each_viewer_gets_a_tag_of_their_own_page(
    site: TestClient, world: World, crowd: list[int]
) -> None:
    anonymous = board_page(site, world, page=3).headers["etag"]
    log_in(site, VIEWER)
    participant = board_page(site, world, page=3)
    mine = participant.headers["etag"]

    assert mine != anonymous
    assert 'id="my-row"' in participant.text
    # The anonymous page's tag does not let the logged-in viewer keep a page without their row.
    assert (
        site.get(
            f"/phases/{world.phase_id}/leaderboard?page=3", headers={"if-none-match": anonymous}
        ).status_code
        == 200
    )
    assert (
        site.get(
            f"/phases/{world.phase_id}/leaderboard?page=3", headers={"if-none-match": mine}
        ).status_code
        == 304
    )


def test_a_kept_page_carries_each_sessions_own_csrf_token(
    site: TestClient, world: World, crowd: list[int]
) -> None:
    log_in(site, VIEWER)
    first = board_page(site, world, page=3)
    first_session = csrf_of(site.get("/account/password"))
    site.cookies.clear()
    log_in(site, VIEWER)  # the same viewer in a new session: the page kept for them
    second = board_page(site, world, page=3)
    second_session = csrf_of(site.get("/account/password"))

    assert csrf_of(first) == first_session
    assert csrf_of(second) == second_session != first_session
    assert CSRF_STAND_IN not in second.text
    assert second.text.replace(second_session, "") == first.text.replace(first_session, "")
    assert second.headers["etag"] != first.headers["etag"]


def test_a_page_kept_for_one_viewer_is_never_shown_to_another(
    site: TestClient, world: World, crowd: list[int]
) -> None:
    log_in(site, VIEWER)
    own = board_page(site, world, page=3)
    site.cookies.clear()
    log_in(site, "p0000")  # their row is on page 1
    other = board_page(site, world, page=3)
    site.cookies.clear()
    anonymous = board_page(site, world, page=3)

    assert 'id="my-row"' in own.text and f'data-user="{VIEWER}"' in own.text
    for response in (other, anonymous):
        assert 'id="my-row"' not in response.text
        assert f'data-user="{VIEWER}"' not in response.text
    assert 'data-user="p0000"' in other.text
    assert "Log in" in anonymous.text and "data-user=" not in anonymous.text


def test_the_json_answers_304_to_its_etag_until_a_new_score(
    client: TestClient, world: World, crowd: list[int]
) -> None:
    url = f"/api/v1/phases/{world.phase_id}/leaderboard"
    first = client.get(url)
    etag = first.headers["etag"]
    unchanged = client.get(url, headers={"if-none-match": f'W/{etag}, "other"'})
    paged = client.get(url, params={"limit": 10, "offset": 20})
    api_submit(client, world, world.user("newcomer"), world.truth().age)
    changed = client.get(url, headers={"if-none-match": etag})

    assert first.headers["cache-control"] == SHARED
    assert len(first.json()) == CROWD
    assert unchanged.status_code == 304
    assert [row["position"] for row in paged.json()] == list(range(21, 31))
    assert paged.headers["etag"] != etag
    assert changed.status_code == 200 and len(changed.json()) == CROWD + 1


@pytest.mark.parametrize("path", ["/api/v1/phases/{id}/leaderboard", "/phases/{id}/leaderboard"])
def test_a_kept_view_goes_compressed_to_clients_that_accept_it_and_reads_the_same(
    client: TestClient, world: World, crowd: list[int], path: str
) -> None:
    url = path.format(id=world.phase_id)
    plain = client.get(url, headers={"accept-encoding": "identity"})
    zipped = client.get(url, headers={"accept-encoding": "gzip"})

    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["vary"]
    assert int(zipped.headers["content-length"]) < len(plain.content)
    assert zipped.content == plain.content  # as the client decodes it
    assert zipped.headers["etag"] == plain.headers["etag"]


def test_a_view_of_an_unchanged_board_reads_one_row_of_the_database(
    app: Any, site: TestClient, world: World, crowd: list[int]
) -> None:
    page_url = f"/phases/{world.phase_id}/leaderboard"
    json_url = f"/api/v1/phases/{world.phase_id}/leaderboard"
    etag = board_page(site, world).headers["etag"]
    site.get(json_url)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The app's background loops (threads named fairboard-*) may query meanwhile.
        if not threading.current_thread().name.startswith("fairboard-"):
            statements.append(statement)

    event.listen(app.state.db.engine, "before_cursor_execute", count)
    try:
        page_again = board_page(site, world)
        kept = site.get(page_url, headers={"if-none-match": etag})
        board = site.get(json_url)
    finally:
        event.remove(app.state.db.engine, "before_cursor_execute", count)

    assert (page_again.status_code, kept.status_code, board.status_code) == (200, 304, 200)
    # The phase with its competition and test set and the board's version, in one query each.
    assert len(statements) == 3
    assert all("leaderboard_versions" in statement for statement in statements)


def test_a_private_split_is_refused_before_the_reveal_whatever_the_tag(
    client: TestClient, world: World
) -> None:
    organizer = world.headers(world.organizer)
    url = f"/api/v1/phases/{world.phase_id}"
    client.patch(url, json={"public_fraction": 0.5}, headers=organizer)
    alice = world.user("alice")
    api_submit(client, world, alice, world.truth().age + 1.0)
    world.settle()
    board = f"{url}/leaderboard?split=private"

    seen = client.get(board, headers=organizer)
    refused = client.get(
        board, headers=world.headers(alice) | {"if-none-match": seen.headers["etag"]}
    )
    client.post(f"{url}/reveal", headers=organizer)
    world.settle()
    revealed = client.get(
        board, headers=world.headers(alice) | {"if-none-match": seen.headers["etag"]}
    )
    anonymous = client.get(board)

    assert seen.headers["cache-control"] == PRIVATE
    assert refused.status_code == 403
    assert revealed.status_code == 304
    assert anonymous.status_code == 200
    assert anonymous.headers["cache-control"] == SHARED
    assert anonymous.json() == seen.json()


def test_a_hidden_leaderboard_is_private_to_its_organizers(
    client: TestClient, world: World, crowd: list[int]
) -> None:
    world.update_phase(leaderboard_public=False)
    url = f"/api/v1/phases/{world.phase_id}/leaderboard"

    organizer = client.get(url, headers=world.headers(world.organizer))
    anonymous = client.get(url, headers={"if-none-match": organizer.headers["etag"]})

    assert organizer.headers["cache-control"] == PRIVATE
    assert anonymous.status_code == 403


def test_an_export_answers_304_to_its_etag_until_a_new_score(
    client: TestClient, world: World, crowd: list[int]
) -> None:
    url = f"/api/v1/phases/{world.phase_id}/exports/leaderboard.md"
    first = client.get(url)
    unchanged = client.get(url, headers={"if-none-match": first.headers["etag"]})
    api_submit(client, world, world.user("newcomer"), world.truth().age)
    changed = client.get(url, headers={"if-none-match": first.headers["etag"]})

    assert first.headers["cache-control"] == SHARED
    assert unchanged.status_code == 304
    assert changed.status_code == 200 and "newcomer" in changed.text
