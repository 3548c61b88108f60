"""What makes a page of a big leaderboard cheap: its tag, known before rendering (for a 304),
the search over its names, and its ranking table rendered once per board version and page.

The table of a page is the same for every viewer whose own row is not on it, so it is kept
(:data:`TABLES_KEPT` of them, least recently used out) by the board's version, split, page,
search, phase name and the viewer's row when it is there; the frame around it (the viewer's
name, the CSRF token, notices) is rendered for each request.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

from fastapi import Request
from markupsafe import Markup

from app.deps import csrf_token
from app.models import Competition, Phase
from app.routes.conditional import etag_of
from app.routes.pages.render import FLASH_KEY, templates
from app.services import board_snapshots
from app.services.leaderboard import Leaderboard

TABLES_KEPT = 512
"""Rendered tables kept in this process (a page of 50 rows is about 60 kB)."""

_tables: OrderedDict[Hashable, Markup] = OrderedDict()
_lock = threading.Lock()


def kept_table(key: Hashable | None, context: Callable[[], dict[str, object]]) -> Markup:
    """The ranking table for ``key``, rendered once from ``context()`` (None: not kept)."""
    if key is None:
        return Markup(templates.env.get_template("pages/_leaderboard_table.html").render(context()))
    with _lock:
        table = _tables.get(key)
        if table is not None:
            _tables.move_to_end(key)
            return table
    table = Markup(templates.env.get_template("pages/_leaderboard_table.html").render(context()))
    with _lock:
        _tables[key] = table
        while len(_tables) > TABLES_KEPT:
            _tables.popitem(last=False)
    return table


BOOT = secrets.token_hex(8)
"""Changes at every start, so a new release never answers 304 to a page an old one rendered."""


def page_etag(
    request: Request,
    served: board_snapshots.Served,
    phase: Phase,
    *,
    organizer: bool,
    private_visible: bool,
) -> str | None:
    """The page's tag, from everything it shows (the board's version, the phase and its
    competition, the viewer, the query); None when it cannot be known before rendering: a
    board with no version yet, or a notice waiting to be shown once."""
    if served.stamp is None or request.session.get(FLASH_KEY):
        return None
    competition = phase.competition
    return etag_of(
        served.stamp.encode(),
        BOOT,
        str(request.url.query),
        request.state.user,
        organizer,
        private_visible,
        csrf_token(request),
        [getattr(phase, column.key) for column in Phase.__table__.columns],
        [getattr(competition, column.key) for column in Competition.__table__.columns],
        phase.testset is not None and phase.testset.is_synthetic,
    )


def searchable_names(board: Leaderboard) -> list[str]:
    """Each row's participant (or team) and member names, case-folded, one string a row."""
    return ["\n".join([row.participant, *(row.members or ())]).casefold() for row in board.rows]


def search(names: Sequence[str], text: str) -> Sequence[int]:
    """Indexes of the rows whose names (:func:`searchable_names`) contain ``text``,
    case-insensitively; every row (a range, nothing to build) when ``text`` is empty."""
    if not text:
        return range(len(names))
    wanted = text.casefold()
    return [index for index, row_names in enumerate(names) if wanted in row_names]
