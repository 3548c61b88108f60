"""Offset pagination of API lists, and the quota headers of submission routes.

List bodies stay JSON lists (clients and the leaderboard contract read them as such): the
total goes in ``X-Total-Count`` and the next page's URL in a ``Link: <...>; rel="next"``
header (RFC 8288), absent on the last page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request, Response

from app.db import DB_INT_MAX
from app.services.competitions import Quota

T = TypeVar("T")
MAX_LIMIT = 1000

PAGE_HEADERS = {
    "X-Total-Count": {"description": "Items in the whole list", "schema": {"type": "integer"}},
    "Link": {
        "description": 'The next page, `<url>; rel="next"`; absent on the last page',
        "schema": {"type": "string"},
    },
}
QUOTA_HEADERS = {
    "X-Quota-Remaining": {
        "description": "Submissions the caller may still make in the phase today "
        "(the smaller of the daily and total allowances); absent when unlimited",
        "schema": {"type": "integer"},
    },
    "X-Quota-Reset": {
        "description": "When the daily allowance resets (ISO 8601, UTC)",
        "schema": {"type": "string", "format": "date-time"},
    },
}


@dataclass(frozen=True)
class Page:
    """``limit`` (None: everything, as before pagination) and ``offset`` of a list request."""

    request: Request
    limit: int | None
    offset: int

    def window(self, items: Sequence[T]) -> tuple[list[T], dict[str, str]]:
        """The items of this page, and its ``X-Total-Count`` and ``Link`` headers."""
        total = len(items)
        end = total if self.limit is None else min(total, self.offset + self.limit)
        return list(items[self.offset : end]), self.headers(total, end)

    def apply(self, items: Sequence[T], response: Response) -> list[T]:
        """The items of this page, with the page's headers set on ``response``."""
        rows, headers = self.window(items)
        response.headers.update(headers)
        return rows

    def headers(self, total: int, end: int) -> dict[str, str]:
        """Headers of a page that ends at item ``end`` of ``total`` (for lists paged in SQL)."""
        headers = {"X-Total-Count": str(total)}
        if self.limit is not None and end < total:
            url = self.request.url.include_query_params(limit=self.limit, offset=end)
            headers["Link"] = f'<{url}>; rel="next"'
        return headers


def _page(
    request: Request,
    limit: Annotated[
        int | None,
        Query(ge=1, le=MAX_LIMIT, description="Items per page (default: the whole list)"),
    ] = None,
    offset: Annotated[
        int, Query(ge=0, le=DB_INT_MAX, description="Items to skip (from the `next` link)")
    ] = 0,
) -> Page:
    return Page(request, limit, offset)


PageDep = Annotated[Page, Depends(_page)]


def quota_headers(quota: Quota, response: Response) -> None:
    """``X-Quota-Remaining`` (when limited) and ``X-Quota-Reset`` on a submission response."""
    left = [n for n in (quota.remaining_today, quota.remaining_total) if n is not None]
    if left:
        response.headers["X-Quota-Remaining"] = str(min(left))
    response.headers["X-Quota-Reset"] = quota.resets_at.isoformat()
