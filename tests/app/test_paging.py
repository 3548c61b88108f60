"""Pages of long lists on HTML pages: where a page sits, and the links that keep the query."""

from __future__ import annotations

from starlette.requests import Request

from app.routes.pages.paging import PER_PAGE, Listing


def request(query: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "server": ("testserver", 80),
            "path": "/phases/1/leaderboard",
            "query_string": query.encode(),
            "headers": [(b"host", b"testserver")],
        }
    )


def test_a_page_past_the_end_shows_the_last_page() -> None:
    pages = Listing(request("page=9"), 9, "").pages(120)
    assert (pages.number, pages.count, pages.first_row, pages.last_row) == (3, 3, 101, 120)


def test_an_empty_list_has_one_empty_page() -> None:
    pages = Listing(request(""), 1, "").pages(0)
    assert (pages.number, pages.count, pages.first_row, pages.last_row) == (1, 1, 0, 0)


def test_links_keep_the_other_query_parameters() -> None:
    pages = Listing(request("split=private&q=ann&page=2"), 2, "ann").pages(500)
    assert pages.url(3) == "http://testserver/phases/1/leaderboard?split=private&q=ann&page=3"


def test_the_window_always_links_the_first_and_last_pages() -> None:
    pages = Listing(request(""), 10, "").pages(PER_PAGE * 40)
    assert pages.window() == [1, 8, 9, 10, 11, 12, 40]


def test_the_row_at_an_index_is_on_its_page() -> None:
    listing = Listing(request(""), 1, "")
    assert [listing.page_of(i) for i in (0, PER_PAGE - 1, PER_PAGE, 10 * PER_PAGE)] == [1, 1, 2, 11]
