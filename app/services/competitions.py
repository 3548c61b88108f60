"""Competitions, phases, organizers, participation and submission quotas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from app.errors import Conflict, Forbidden, NotFound, NotJoined
from app.models import (
    Competition,
    CompetitionOrganizer,
    Participation,
    Phase,
    Role,
    Submission,
    SubmissionStatus,
    User,
)
from app.timeutil import next_utc_midnight, utc_day_start

NOT_ORGANIZER = "only the organizers of this competition may do this"
NOT_JOINED = "join the competition before submitting"
ALREADY_JOINED = "you have already joined this competition"
CANNOT_CREATE = "only users with the organizer or admin role can create competitions"


def list_competitions(session: Session) -> list[Competition]:
    """All competitions with their phases, newest first."""
    return list(
        session.scalars(
            select(Competition)
            .options(selectinload(Competition.phases))
            .order_by(Competition.id.desc())
        )
    )


def get_competition(session: Session, competition_id: int) -> Competition:
    """One competition with its phases."""
    competition = session.scalar(
        select(Competition)
        .where(Competition.id == competition_id)
        .options(selectinload(Competition.phases))
    )
    if competition is None:
        raise NotFound(f"competition {competition_id} not found")
    return competition


def get_phase(session: Session, phase_id: int) -> Phase:
    """One phase with its competition and test set."""
    phase = session.scalar(
        select(Phase)
        .where(Phase.id == phase_id)
        .options(selectinload(Phase.competition), selectinload(Phase.testset))
    )
    if phase is None:
        raise NotFound(f"phase {phase_id} not found")
    return phase


def create_competition(
    session: Session, creator: User, *, title: str, description: str = ""
) -> Competition:
    """A new competition; its creator becomes its first organizer."""
    if not creator.can_create_competitions:
        raise Forbidden(CANNOT_CREATE)
    competition = Competition(
        title=title.strip(), description=description, created_by_id=creator.id
    )
    session.add(competition)
    session.flush()
    session.add(CompetitionOrganizer(competition_id=competition.id, user_id=creator.id))
    session.flush()
    return competition


def add_phase(session: Session, competition: Competition, **fields: Any) -> Phase:
    """Append a phase to a competition."""
    position = session.scalar(
        select(func.coalesce(func.max(Phase.position), -1) + 1).where(
            Phase.competition_id == competition.id
        )
    )
    phase = Phase(competition_id=competition.id, position=position, **fields)
    session.add(phase)
    session.flush()
    return phase


def is_organizer(session: Session, competition_id: int, user: User | None) -> bool:
    """Admins organize everything; others organize the competitions they were added to."""
    if user is None:
        return False
    if user.role == Role.ADMIN:
        return True
    return bool(
        session.scalar(
            select(func.count()).where(
                CompetitionOrganizer.competition_id == competition_id,
                CompetitionOrganizer.user_id == user.id,
            )
        )
    )


def require_organizer(session: Session, competition_id: int, user: User) -> None:
    if not is_organizer(session, competition_id, user):
        raise Forbidden(NOT_ORGANIZER)


def get_participation(session: Session, competition_id: int, user_id: int) -> Participation | None:
    return session.scalar(
        select(Participation).where(
            Participation.competition_id == competition_id, Participation.user_id == user_id
        )
    )


def join(session: Session, competition: Competition, user: User) -> Participation:
    """Join a competition; joining twice is a conflict."""
    if get_participation(session, competition.id, user.id) is not None:
        raise Conflict(ALREADY_JOINED)
    participation = Participation(competition_id=competition.id, user_id=user.id)
    session.add(participation)
    session.flush()
    return participation


def require_participation(session: Session, competition_id: int, user: User) -> Participation:
    participation = get_participation(session, competition_id, user.id)
    if participation is None:
        raise NotJoined(NOT_JOINED)
    return participation


@dataclass(frozen=True)
class Quota:
    """How many more submissions a participant may make in a phase, and when that resets."""

    daily_limit: int | None
    used_today: int
    total_limit: int | None
    used_total: int
    resets_at: datetime

    @property
    def remaining_today(self) -> int | None:
        return None if self.daily_limit is None else max(0, self.daily_limit - self.used_today)

    @property
    def remaining_total(self) -> int | None:
        return None if self.total_limit is None else max(0, self.total_limit - self.used_total)

    @property
    def exhausted_today(self) -> bool:
        return self.remaining_today == 0

    @property
    def exhausted_total(self) -> bool:
        return self.remaining_total == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "daily_limit": self.daily_limit,
            "used_today": self.used_today,
            "remaining_today": self.remaining_today,
            "total_limit": self.total_limit,
            "used_total": self.used_total,
            "remaining_total": self.remaining_total,
            "resets_at": self.resets_at.isoformat(),
        }


def quota(session: Session, phase: Phase, user_id: int, now: datetime) -> Quota:
    """Submissions that count: every one that has not failed (organizer baselines excluded)."""
    day_start = utc_day_start(now)
    counted = (
        Submission.phase_id == phase.id,
        Submission.user_id == user_id,
        Submission.status != SubmissionStatus.FAILED,
        Submission.is_baseline.is_(False),
    )
    used_total, used_today = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Submission.created_at >= day_start, 1), else_=0)), 0),
        ).where(*counted)
    ).one()
    return Quota(
        daily_limit=phase.daily_limit,
        used_today=int(used_today),
        total_limit=phase.total_limit,
        used_total=int(used_total),
        resets_at=next_utc_midnight(now),
    )
