"""The compare page: pick submissions across a competition's phases, see one table, download it."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.db import DB_ID_MAX
from app.deps import DbId, NowDep, OptionalUser, SessionDep
from app.errors import InvalidInput
from app.routes.pages.forms import login_redirect
from app.routes.pages.paging import ListingDep
from app.routes.pages.render import render, show_viewer
from app.services import compare as comparing
from app.services import compare_candidates, competitions
from app.services.leaderboard import COLUMN_LABELS, COLUMN_ORDER

router = APIRouter()


@router.get("/competitions/{competition_id}/compare", response_class=HTMLResponse)
def compare_page(
    competition_id: DbId,
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    now: NowDep,
    listing: ListingDep,
    submissions: Annotated[list[str] | None, Query(max_length=comparing.MAX_COMPARED * 2)] = None,
    reference: Annotated[int | None, Query(ge=1, le=DB_ID_MAX)] = None,
    groups: bool = False,
) -> Response:
    """Choose submissions of a competition (50 a page, searchable; the chosen ones stay on
    top) and compare them in one table."""
    if user is None:
        return login_redirect(request)
    show_viewer(request, user)
    competition = competitions.get_competition(session, competition_id)
    chosen = ",".join(submissions or [])
    table, error = None, None
    if chosen:
        try:
            table = comparing.compare(
                session, user, comparing.parse_ids(chosen), reference=reference, now=now
            )
            if table.competition_id != competition.id:
                raise InvalidInput(comparing.COMPARE_MIXED.format(id=table.rows[0].submission_id))
        except InvalidInput as problem:
            table, error = None, problem.message
    query = {"submissions": chosen} | ({"reference": reference} if reference else {})
    query |= {"groups": "true"} if groups else {}
    chosen_ids = _shown_as_chosen(chosen)
    pages, candidates = compare_candidates.candidates_page(
        session, user, competition.id, listing, search=listing.search
    )
    picked = compare_candidates.chosen_candidates(session, user, competition.id, chosen_ids)
    return render(
        request,
        "pages/compare.html",
        competition=competition,
        candidates=picked + [c for c in candidates if c.submission_id not in chosen_ids],
        pages=pages,
        listing=listing,
        keep={key: str(value) for key, value in query.items()},
        chosen=chosen_ids,
        reference=reference,
        groups=groups,
        table=table,
        error=error,
        columns=[(name, COLUMN_LABELS[name]) for name in COLUMN_ORDER],
        group_columns=comparing.GROUP_COLUMNS,
        downloads={
            fmt: "/api/v1/compare?" + urlencode(query | {"format": fmt})
            for fmt in ("csv", "md", "tex")
        },
    )


def _shown_as_chosen(chosen: str) -> set[int]:
    """The ids of ``chosen`` a submission can have, as many as a comparison may hold (more
    are refused by the comparison itself): those checked in the picker."""
    fields = (field.strip() for field in chosen.split(","))
    # isdigit() alone takes "²", which int() refuses.
    ids = (int(f) for f in fields if f.isascii() and f.isdigit() and len(f) <= 10)
    valid = [i for i in ids if 1 <= i <= DB_ID_MAX]
    return set(valid[: comparing.MAX_COMPARED])
