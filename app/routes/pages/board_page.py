"""What makes a page of a big leaderboard cheap: its tag, known before rendering (for a 304),
the search over its names, its ranking table rendered once per board version and page, and
the whole page kept for the next viewer who would get the same bytes.

The table of a page is the same for every viewer whose own row is not on it, so it is kept
(:data:`TABLES_KEPT` of them, least recently used out) by the board's version, split, page,
search, phase name and the viewer's row when it is there. The whole page is kept
(:data:`PAGES_KEPT`) by :func:`page_key`: everything its bytes depend on except the session's
CSRF token, which is rendered as :data:`CSRF_STAND_IN` and put in for each request. So every
anonymous visitor of a page shares one copy, and a logged-in viewer gets a copy of their own.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from app.deps import csrf_token
from app.kept import Kept
from app.models import Competition, Phase
from app.routes.conditional import PRIVATE, compress, encoded, etag_of, validators
from app.routes.pages.render import FLASH_KEY, templates
from app.services import board_snapshots
from app.services.leaderboard import Leaderboard

TABLES_KEPT = 512
"""Rendered tables kept in this process (a page of 50 rows is about 60 kB)."""
PAGES_KEPT = 256
"""Whole pages kept in this process (about 65 kB each)."""
CSRF_STAND_IN = f"csrf-stand-in-{secrets.token_hex(16)}"
"""Rendered in a kept page where the session's CSRF token goes (random: no name can match)."""

_tables: Kept[Hashable, Markup] = Kept(TABLES_KEPT)
_pages: Kept[str, KeptPage] = Kept(PAGES_KEPT)


def _table(context: dict[str, object]) -> Markup:
    return Markup(templates.env.get_template("pages/_leaderboard_table.html").render(context))


def kept_table(key: Hashable | None, context: Callable[[], dict[str, object]]) -> Markup:
    """The ranking table for ``key``, rendered once from ``context()`` (None: not kept)."""
    if key is None:
        return _table(context())
    table = _tables.get(key)
    return table if table is not None else _tables.put(key, _table(context()))


BOOT = secrets.token_hex(8)
"""Changes at every start, so a new release never answers 304 to a page an old one rendered."""


def page_key(
    request: Request,
    served: board_snapshots.Served,
    phase: Phase,
    *,
    organizer: bool,
    private_visible: bool,
) -> str | None:
    """A digest of everything the page shows but the CSRF token (the board's version, the
    phase and its competition, the viewer, the query); None when it cannot be known before
    rendering: a board with no version yet, or a notice waiting to be shown once."""
    if served.stamp is None or request.session.get(FLASH_KEY):
        return None
    competition = phase.competition
    return etag_of(
        served.stamp.encode(),
        BOOT,
        request.url.path,
        str(request.url.query),
        request.state.user,
        organizer,
        private_visible,
        [getattr(phase, column.key) for column in Phase.__table__.columns],
        [getattr(competition, column.key) for column in Competition.__table__.columns],
        phase.testset is not None and phase.testset.is_synthetic,
    )


def page_etag(request: Request, key: str) -> str:
    """The page's tag: its :func:`page_key` and the session's CSRF token, which it shows."""
    return etag_of(key.encode(), csrf_token(request))


@dataclass(frozen=True)
class KeptPage:
    """A rendered page; compressed once when it shows no CSRF token (an anonymous viewer's)."""

    body: bytes
    gzipped: bytes | None


def kept_page(request: Request, key: str, etag: str) -> HTMLResponse | None:
    """The page kept for ``key``, with this session's CSRF token; None when none is kept."""
    kept = _pages.get(key)
    return None if kept is None else _page_response(request, kept, etag)


def keep_page(request: Request, key: str, etag: str, context: dict[str, Any]) -> HTMLResponse:
    """Render the page from ``context`` (as ``render.render`` does, the CSRF token stood in
    for), keep it for ``key`` and answer it."""
    body = (
        templates.env.get_template("pages/leaderboard.html")
        .render(
            context,
            request=request,
            current_user=getattr(request.state, "user", None),
            flash=None,  # a page with a notice to show has no key
            csrf_token=CSRF_STAND_IN,
        )
        .encode()
    )
    gzipped = None if CSRF_STAND_IN.encode() in body else compress(body)
    return _page_response(request, _pages.put(key, KeptPage(body, gzipped)), etag)


def _page_response(request: Request, kept: KeptPage, etag: str) -> HTMLResponse:
    headers = validators(etag, PRIVATE)
    if kept.gzipped is not None:
        gzipped = kept.gzipped
        content, encoding = encoded(request, kept.body, lambda: gzipped)
        return HTMLResponse(content, headers=headers | encoding)
    token = csrf_token(request).encode()
    return HTMLResponse(kept.body.replace(CSRF_STAND_IN.encode(), token), headers=headers)


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
