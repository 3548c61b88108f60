"""Competitions, their phases and joining them."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.deps import CurrentUser, DbId, NowDep, OptionalUser, SessionDep
from app.presenters import competition_out
from app.routes.api.paging import PAGE_HEADERS, PageDep
from app.schema_examples.organizer import EXAMPLE_JOINED
from app.schemas import CompetitionOut, JoinIn
from app.services import competitions

router = APIRouter(prefix="/competitions", tags=["competitions"])


@router.get(
    "",
    response_model=list[CompetitionOut],
    summary="List competitions",
    responses={200: {"headers": PAGE_HEADERS}},
)
def list_competitions(
    session: SessionDep, user: OptionalUser, now: NowDep, page: PageDep, response: Response
) -> list[CompetitionOut]:
    """All competitions with their phases."""
    shown = page.apply(competitions.list_competitions(session), response)
    return [competition_out(session, c.id, user, now=now) for c in shown]


@router.get("/{competition_id}", response_model=CompetitionOut)
def get_competition(
    competition_id: DbId, session: SessionDep, user: OptionalUser, now: NowDep
) -> CompetitionOut:
    """One competition with its phases and, for participants, their remaining quota."""
    return competition_out(session, competition_id, user, now=now)


@router.post(
    "/{competition_id}/join",
    status_code=status.HTTP_201_CREATED,
    responses={201: {"content": {"application/json": {"example": EXAMPLE_JOINED}}}},
)
def join(
    competition_id: DbId,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    body: JoinIn | None = None,
) -> dict[str, object]:
    """Join a competition as a participant, accepting its terms when it has any."""
    competition = competitions.get_competition(session, competition_id)
    participation = competitions.join(
        session, competition, user, accept_terms=body is not None and body.accept_terms, now=now
    )
    accepted = participation.terms_accepted_at
    return {
        "competition_id": competition.id,
        "joined_at": participation.joined_at.isoformat(),
        "terms_accepted_at": accepted.isoformat() if accepted else None,
    }
