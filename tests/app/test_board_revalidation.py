"""A conditional GET of a leaderboard page is answered 304 before routing when the client's tag
is the one the route would give; everything else reaches the route and is answered as ever:
another tag, a board its viewer may not see, a query the route refuses (even to ``*``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.routes.pages import board_revalidation
from tests.app.conftest import World
from tests.app.test_leaderboard_pages import board_page, crowd  # noqa: F401 (a fixture)

pytestmark = pytest.mark.usefixtures("crowd")


@pytest.fixture
def early_tags(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the check before routing tagged a page."""
    calls: list[int] = []
    original: Callable[..., Any] = board_revalidation.tag_page

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(board_revalidation, "tag_page", counted)
    return calls


def conditional(site: TestClient, world: World, tag: str, **params: Any) -> Any:
    return site.get(
        f"/phases/{world.phase_id}/leaderboard", params=params, headers={"if-none-match": tag}
    )


def test_the_current_tag_is_answered_before_routing(
    site: TestClient, world: World, early_tags: list[int]
) -> None:
    first = board_page(site, world, page=2)
    etag = first.headers["etag"]

    unchanged = conditional(site, world, etag, page=2)

    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["etag"] == etag
    assert unchanged.headers["cache-control"] == first.headers["cache-control"]
    assert unchanged.headers["x-content-type-options"] == "nosniff", "still inside the headers"
    assert early_tags == [1]
    other_page = conditional(site, world, etag, page=3)
    assert other_page.status_code == 200 and other_page.headers["etag"] != etag


@pytest.mark.parametrize(
    "params",
    [
        {"page": "0"},
        {"page": "x"},
        {"page": "٣"},
        {"split": "secret"},
        {"view": "nope"},
        {"q": "q" * 101},
    ],
)
def test_a_query_the_route_refuses_is_refused_even_to_any_tag(
    site: TestClient, world: World, params: dict[str, str]
) -> None:
    plain = site.get(f"/phases/{world.phase_id}/leaderboard", params=params)
    refused = conditional(site, world, "*", **params)
    assert refused.status_code == plain.status_code == 422
    assert refused.text == plain.text


def test_a_board_its_viewer_may_not_see_is_refused_whatever_the_tag(
    site: TestClient, world: World
) -> None:
    etag = board_page(site, world).headers["etag"]
    world.update_phase(leaderboard_public=False)
    for tag in (etag, "*"):
        refused = conditional(site, world, tag)
        assert refused.status_code == 403
    private = conditional(site, world, "*", split="private")
    assert (
        private.status_code
        == site.get(
            f"/phases/{world.phase_id}/leaderboard", params={"split": "private"}
        ).status_code
    )
