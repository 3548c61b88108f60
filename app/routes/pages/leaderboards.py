"""The leaderboard page of SPEC §6."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.deps import NowDep, OptionalUser, SessionDep
from app.errors import Forbidden
from app.models import Phase, Split
from app.routes.pages.render import render, show_viewer
from app.services import competitions, leaderboard
from app.services.leaderboard import Leaderboard, LeaderboardRow
from scoring.ranking import DEFAULT_TOLERANCE

router = APIRouter()

COLUMN_LABELS: dict[str, str] = {
    "gender_bias": "Gender (bias)",
    "expression_bias": "Expression (bias)",
    "ethnicity_bias": "Ethnicity (bias)",
    "age_bias": "Age (bias)",
    "mae": "MAE",
}
"""Header of each score column, in the order of ``leaderboard.COLUMN_ORDER``."""


@dataclass(frozen=True)
class ScoreCell:
    column: str
    value: float | None
    rank: float
    is_best: bool


@dataclass(frozen=True)
class BoardRow:
    row: LeaderboardRow
    cells: tuple[ScoreCell, ...]
    is_viewer: bool


def is_best(value: float | None, best: float | None) -> bool:
    """Best of its column, within the tolerance inside which the ranking calls values equal."""
    return value is not None and best is not None and value - best <= DEFAULT_TOLERANCE


def may_see(phase: Phase, split: Split, *, organizer: bool, now: datetime) -> bool:
    """Whether the viewer may open this split's leaderboard (the service decides)."""
    try:
        leaderboard.check_visible(phase, split, organizer=organizer, now=now)
    except Forbidden:
        return False
    return True


def board_rows(board: Leaderboard, viewer_id: int | None) -> list[BoardRow]:
    return [
        BoardRow(
            row=row,
            cells=tuple(
                ScoreCell(
                    column=name,
                    value=row.scores[name],
                    rank=row.ranks[name],
                    is_best=is_best(row.scores[name], board.best.get(name)),
                )
                for name in leaderboard.COLUMN_ORDER
            ),
            is_viewer=viewer_id is not None and row.user_id == viewer_id and not row.is_baseline,
        )
        for row in board.rows
    ]


@router.get("/phases/{phase_id}/leaderboard", response_class=HTMLResponse)
def leaderboard_page(
    phase_id: int,
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    now: NowDep,
    split: Annotated[Literal["public", "private"], Query()] = "public",
) -> HTMLResponse:
    """One entry per participant, ranked by the mean of the five column ranks."""
    show_viewer(request, user)
    phase = competitions.get_phase(session, phase_id)
    organizer = competitions.is_organizer(session, phase.competition_id, user)
    chosen = Split(split)
    leaderboard.check_visible(phase, chosen, organizer=organizer, now=now)
    board = leaderboard.build_leaderboard(session, phase, split=chosen)
    return render(
        request, "pages/leaderboard.html",
        phase=phase,
        competition=phase.competition,
        board=board,
        rows=board_rows(board, user.id if user else None),
        columns=[(name, COLUMN_LABELS[name]) for name in leaderboard.COLUMN_ORDER],
        has_private=phase.public_fraction is not None,
        private_visible=phase.public_fraction is not None
        and may_see(phase, Split.PRIVATE, organizer=organizer, now=now),
        organizer=organizer,
    )
