"""Pages of a long list on an HTML page: 50 rows a page, an optional search, links that keep
the rest of the query.

A route declares ``listing: ListingDep`` and gets the page number and search text from the
query (``?page=``, ``?q=``), both bounded; it counts and slices its rows, then passes
``listing.pages(total)`` to the template, whose ``pager`` macro (templates/_macros.html) draws
the links. A page past the end shows the last page, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

PER_PAGE = 50
"""Rows per page of every paginated page (SPEC-free: a reading size, not a rule)."""
MAX_PAGE = 1_000_000
SEARCH_MAX = 100


@dataclass(frozen=True)
class Pages:
    """Where one page sits in a list of ``total`` rows, and the URLs of its neighbours."""

    request: Request
    number: int
    """The page shown, 1-based, clamped to the last page."""
    total: int
    per_page: int = PER_PAGE

    @property
    def count(self) -> int:
        """How many pages the list has (at least one, even when empty)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def first_row(self) -> int:
        """1-based position of the page's first row (0 when the list is empty)."""
        return min(self.offset + 1, self.total)

    @property
    def last_row(self) -> int:
        return min(self.offset + self.per_page, self.total)

    def url(self, number: int) -> str:
        """This page's URL with ``page=number`` (the other query parameters kept)."""
        return str(self.request.url.include_query_params(page=number))

    def window(self, radius: int = 2) -> list[int]:
        """Page numbers to link around the current one (first and last always included)."""
        near = range(max(1, self.number - radius), min(self.count, self.number + radius) + 1)
        return sorted({1, self.count, *near})


@dataclass(frozen=True)
class Listing:
    """The page number and search text a list page was asked for."""

    request: Request
    page: int
    search: str
    """Stripped search text; empty when none."""

    def pages(self, total: int, *, per_page: int = PER_PAGE) -> Pages:
        """The page to show of ``total`` rows: the one asked for, or the last one."""
        last = max(1, -(-total // per_page))
        return Pages(self.request, min(self.page, last), total, per_page)

    def page_of(self, index: int, *, per_page: int = PER_PAGE) -> int:
        """The page holding the row at 0-based ``index`` (for "jump to my row")."""
        return index // per_page + 1


async def _listing(
    request: Request,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1")] = 1,
    q: Annotated[str, Query(max_length=SEARCH_MAX, description="Search text")] = "",
) -> Listing:
    return Listing(request, page, q.strip())


ListingDep = Annotated[Listing, Depends(_listing)]
