"""What the compare page offers to pick: the finished submissions of a competition the viewer
may compare (their own and their team's, the visible baselines; an organizer, all of them), a
page at a time and searchable, and the ones already chosen wherever they are in the list."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, cast, select
from sqlalchemy.orm import Session

from app.models import Phase, Submission, SubmissionStatus, Team, User
from app.services import competitions, teams
from app.services.compare import participant_name
from app.services.listing import Pager, WindowT, contains, fetch_page


@dataclass(frozen=True)
class Candidate:
    """A submission the viewer may put in a comparison."""

    submission_id: int
    phase: str
    participant: str
    description: str
    created_at: datetime
    is_baseline: bool


def candidates_page(
    session: Session, viewer: User, competition_id: int, pager: Pager[WindowT], *, search: str = ""
) -> tuple[WindowT, list[Candidate]]:
    """One page of the candidates, by phase then age; ``search`` finds a text in the id,
    phase, participant, team or description."""
    query = _candidates(session, viewer, competition_id)
    if search:
        query = query.where(
            contains(
                search,
                cast(Submission.id, String),
                Phase.name,
                User.username,
                Team.name,
                Submission.description,
            )
        )
    window, rows = fetch_page(session, query, pager)
    return window, [_candidate(*row) for row in rows]


def chosen_candidates(
    session: Session, viewer: User, competition_id: int, ids: Collection[int]
) -> list[Candidate]:
    """The candidates among ``ids`` (those the viewer may not compare are left out)."""
    if not ids:
        return []
    query = _candidates(session, viewer, competition_id).where(Submission.id.in_(list(ids)))
    return [_candidate(*row) for row in session.execute(query)]


def _candidates(
    session: Session, viewer: User, competition_id: int
) -> Select[Submission, str, str, str]:  # the team is None without one (outer join)
    competition = competitions.get_competition(session, competition_id)
    query = (
        select(Submission, Phase.name, User.username, Team.name)
        .join(Phase, Phase.id == Submission.phase_id)
        .join(User, User.id == Submission.user_id)
        .outerjoin(Team, Team.id == Submission.team_id)
        .where(
            Phase.competition_id == competition.id,
            Submission.status == SubmissionStatus.FINISHED,
        )
        .order_by(Phase.position, Phase.id, Submission.created_at, Submission.id)
    )
    if competitions.is_organizer(session, competition.id, viewer):
        return query
    team = teams.team_of(session, competition.id, viewer.id)
    baseline = (
        Submission.is_baseline.is_(True)
        & Submission.is_hidden.is_(False)
        & Phase.leaderboard_public.is_(True)
    )
    own: Any = Submission.user_id == viewer.id
    if team is not None:
        own = own | (Submission.team_id == team.id)
    return query.where(own | baseline)


def _candidate(submission: Submission, phase: str, username: str, team: str | None) -> Candidate:
    return Candidate(
        submission_id=submission.id,
        phase=phase,
        participant=participant_name(submission, team, username),
        description=submission.description,
        created_at=submission.created_at,
        is_baseline=submission.is_baseline,
    )
