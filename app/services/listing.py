"""One page of a long list, counted and sliced by the database, and a search by substring.

A list page's route hands its ``Listing`` (app.routes.pages.paging) to a service as ``pager``:
the service counts the rows in SQL, asks the pager which page to show of that many (a page
past the end is the last one), and fetches only that page with LIMIT/OFFSET.
"""

from __future__ import annotations

from typing import Protocol, TypeVar, TypeVarTuple

from sqlalchemy import ColumnElement, Row, Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

LIKE_ESCAPE = "\\"


class Window(Protocol):
    """Where a page sits: its first row (0-based) and how many rows it holds."""

    @property
    def offset(self) -> int: ...

    @property
    def per_page(self) -> int: ...


W = TypeVar("W", bound=Window, covariant=True)


class Pager(Protocol[W]):
    """Chooses the page to show once the number of rows is known."""

    def pages(self, total: int) -> W: ...


WindowT = TypeVar("WindowT", bound=Window)
Columns = TypeVarTuple("Columns")


def fetch_page(
    session: Session, query: Select[*Columns], pager: Pager[WindowT]
) -> tuple[WindowT, list[Row[*Columns]]]:
    """The page ``pager`` chooses of ``query``'s rows: COUNT over the query, then one slice."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    window = pager.pages(int(total or 0))
    rows = session.execute(query.limit(window.per_page).offset(window.offset)).all()
    return window, list(rows)


def contains(
    text: str,
    *columns: ColumnElement[str | None]
    | InstrumentedAttribute[str]
    | InstrumentedAttribute[str | None],
) -> ColumnElement[bool]:
    """Any of ``columns`` holds ``text``, ignoring case; ``%`` and ``_`` match themselves."""
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    pattern = f"%{escaped}%"
    return or_(*(column.ilike(pattern, escape=LIKE_ESCAPE) for column in columns))
