"""Competitions: creating and editing one, its (co-)organizers, participation and quotas.

``require_organizer`` is the one access check for everything an organizer does in a
competition; every change is recorded in the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, case, func, inspect, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.util import identity_key

from app.db import UTCDateTime, utcnow
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, NotJoined
from app.models import (
    Competition,
    CompetitionOrganizer,
    Participation,
    Phase,
    Role,
    Submission,
    SubmissionStatus,
    TeamMode,
    User,
)
from app.services import audit
from app.services.listing import Pager, WindowT, contains, fetch_page
from app.timeutil import next_utc_midnight, utc_day_start

COMPETITION_NOT_FOUND = "competition {id} not found"
PHASE_NOT_FOUND = "phase {id} not found"
NOT_ORGANIZER = "only the organizers of this competition may do this"
NOT_JOINED = "join the competition before submitting"
ALREADY_JOINED = "you have already joined this competition"
TERMS_NOT_ACCEPTED = "this competition has terms: accept them (accept_terms=true) to join"
CANNOT_CREATE = "only users with the organizer or admin role can create competitions"
TITLE_REQUIRED = "the title must not be empty"
TITLE_TOO_LONG = "the title must be at most 200 characters (got {length})"
NO_SUCH_USER = "no user named {username!r}"
ALREADY_ORGANIZER = "{username!r} already organizes this competition"
PARTICIPANT_CANNOT_ORGANIZE = (
    "{username!r} participates in this competition; a participant cannot also organize it"
)
NOT_AN_ORGANIZER = "{username!r} does not organize this competition"
MAX_TEAM_SIZE = 50
BAD_TEAM_MODE = "team mode {mode!r} is not one of: off, optional, required"
BAD_TEAM_SIZE = "the largest team size must be a whole number from 1 to 50 (got {size})"
LAST_ORGANIZER = (
    "a competition needs at least one organizer; add another before removing {username!r}"
)


def list_competitions(session: Session) -> list[Competition]:
    """All competitions with their phases, newest first."""
    return list(
        session.scalars(
            select(Competition)
            .options(selectinload(Competition.phases))
            .order_by(Competition.id.desc())
        )
    )


def competitions_page(
    session: Session, pager: Pager[WindowT], *, search: str = "", organizer: User | None = None
) -> tuple[WindowT, list[Competition]]:
    """One page of the competitions (those ``organizer`` organizes, admins: all), newest
    first, their titles holding ``search``."""
    query = select(Competition).options(selectinload(Competition.phases))
    if organizer is not None and organizer.role != Role.ADMIN:
        query = query.join(
            CompetitionOrganizer, CompetitionOrganizer.competition_id == Competition.id
        ).where(CompetitionOrganizer.user_id == organizer.id)
    if search:
        query = query.where(contains(search, Competition.title))
    window, rows = fetch_page(session, query.order_by(Competition.id.desc()), pager)
    return window, [row[0] for row in rows]


def get_competition(session: Session, competition_id: int) -> Competition:
    """One competition with its phases."""
    competition = session.scalar(
        select(Competition)
        .where(Competition.id == competition_id)
        .options(selectinload(Competition.phases))
    )
    if competition is None:
        raise NotFound(COMPETITION_NOT_FOUND.format(id=competition_id))
    return competition


def get_phase(session: Session, phase_id: int) -> Phase:
    """One phase with its competition and test set."""
    known = session.identity_map.get(identity_key(Phase, phase_id))
    if known is not None and not inspect(known).unloaded:
        # Already loaded whole in this session (the select would return this very object).
        return known
    phase = session.scalar(
        select(Phase)
        .where(Phase.id == phase_id)
        .options(joinedload(Phase.competition), joinedload(Phase.testset))
    )
    if phase is None:
        raise NotFound(PHASE_NOT_FOUND.format(id=phase_id))
    return phase


def insert_competition(
    session: Session, creator: User, *, title: str, description: str = ""
) -> Competition:
    """A new competition record; its creator becomes its first organizer (not audited)."""
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


def require_organizer(session: Session, competition_id: int, user: User) -> Competition:
    """The competition, when ``user`` organizes it: 404 when missing, 403 when not theirs."""
    competition = get_competition(session, competition_id)
    if not is_organizer(session, competition.id, user):
        raise Forbidden(NOT_ORGANIZER)
    return competition


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise InvalidInput(TITLE_REQUIRED, field="title")
    if len(title) > 200:
        raise InvalidInput(TITLE_TOO_LONG.format(length=len(title)), field="title")
    return title


def create_competition(
    session: Session, actor: User, *, title: str, description: str = "", now: datetime
) -> Competition:
    """A new competition organized by its creator (organizer or admin role only)."""
    competition = insert_competition(
        session, actor, title=_clean_title(title), description=description or ""
    )
    audit.record(
        session,
        actor,
        "competition.create",
        competition_id=competition.id,
        target=f"competition {competition.id}",
        now=now,
        title=competition.title,
    )
    return competition


def update_competition(
    session: Session,
    competition_id: int,
    actor: User,
    changes: Mapping[str, Any],
    *,
    now: datetime,
) -> Competition:
    """Change a competition's title or its tabs' texts (its organizers only)."""
    competition = require_organizer(session, competition_id, actor)
    changed: dict[str, Any] = {}
    if changes.get("title") is not None:
        title = _clean_title(changes["title"])
        if title != competition.title:
            changed["title"] = {"from": competition.title, "to": title}
            competition.title = title
    for name in ("description", "evaluation", "terms", "data"):
        if changes.get(name) is not None:
            text = str(changes[name])
            if text != getattr(competition, name):
                changed[name] = {"changed": True}
                setattr(competition, name, text)
    changed |= _update_team_settings(competition, changes)
    session.flush()
    if changed:
        audit.record(
            session,
            actor,
            "competition.update",
            competition_id=competition.id,
            target=f"competition {competition.id}",
            now=now,
            changes=changed,
        )
    return competition


def _update_team_settings(competition: Competition, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Team mode (off, optional, required) and the largest team; existing teams stay."""
    changed: dict[str, Any] = {}
    if changes.get("team_mode") is not None:
        try:
            mode = TeamMode(str(changes["team_mode"]))
        except ValueError:
            raise InvalidInput(
                BAD_TEAM_MODE.format(mode=str(changes["team_mode"])[:40]), field="team_mode"
            ) from None
        if mode is not competition.team_mode:
            changed["team_mode"] = {"from": competition.team_mode.value, "to": mode.value}
            competition.team_mode = mode
    if changes.get("max_team_size") is not None:
        size = changes["max_team_size"]
        if isinstance(size, str) and size.strip().isascii() and size.strip().isdigit():
            size = int(size.strip())  # from the page form
        if not isinstance(size, int) or not 1 <= size <= MAX_TEAM_SIZE:
            raise InvalidInput(BAD_TEAM_SIZE.format(size=str(size)[:40]), field="max_team_size")
        if size != competition.max_team_size:
            changed["max_team_size"] = {"from": competition.max_team_size, "to": size}
            competition.max_team_size = size
    return changed


# --- Co-organizers --------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganizerView:
    username: str
    role: str
    added_at: datetime


def list_organizers(session: Session, competition_id: int, actor: User) -> list[OrganizerView]:
    """The organizers of a competition, earliest first (organizers only)."""
    require_organizer(session, competition_id, actor)
    rows = session.execute(
        select(User.username, User.role, CompetitionOrganizer.added_at)
        .join(User, User.id == CompetitionOrganizer.user_id)
        .where(CompetitionOrganizer.competition_id == competition_id)
        .order_by(CompetitionOrganizer.added_at, CompetitionOrganizer.id)
    )
    return [OrganizerView(name, role.value, added) for name, role, added in rows]


def user_named(session: Session, username: str) -> User:
    """The user with this username (any case), or 404."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(NO_SUCH_USER.format(username=username.strip()))
    return user


def _organizer_link(
    session: Session, competition_id: int, user: User
) -> CompetitionOrganizer | None:
    return session.scalar(
        select(CompetitionOrganizer).where(
            CompetitionOrganizer.competition_id == competition_id,
            CompetitionOrganizer.user_id == user.id,
        )
    )


def add_organizer(
    session: Session, competition_id: int, actor: User, username: str, *, now: datetime
) -> User:
    """Make an existing user a co-organizer of this competition."""
    competition = require_organizer(session, competition_id, actor)
    user = user_named(session, username)
    if _organizer_link(session, competition.id, user) is not None:
        raise Conflict(ALREADY_ORGANIZER.format(username=user.username))
    # An organizer sees private scores; someone who competes must not.
    if get_participation(session, competition.id, user.id) is not None:
        raise Conflict(PARTICIPANT_CANNOT_ORGANIZE.format(username=user.username))
    session.add(CompetitionOrganizer(competition_id=competition.id, user_id=user.id, added_at=now))
    session.flush()
    audit.record(
        session,
        actor,
        "organizer.add",
        competition_id=competition.id,
        target=f"user {user.username}",
        now=now,
    )
    return user


def remove_organizer(
    session: Session, competition_id: int, actor: User, username: str, *, now: datetime
) -> None:
    """Remove a co-organizer; the last organizer stays."""
    require_organizer(session, competition_id, actor)
    user = user_named(session, username)
    link = _organizer_link(session, competition_id, user)
    if link is None:
        raise NotFound(NOT_AN_ORGANIZER.format(username=user.username))
    count = session.scalar(
        select(func.count()).where(CompetitionOrganizer.competition_id == competition_id)
    )
    if (count or 0) <= 1:
        raise Conflict(LAST_ORGANIZER.format(username=user.username))
    session.delete(link)
    session.flush()
    audit.record(
        session,
        actor,
        "organizer.remove",
        competition_id=competition_id,
        target=f"user {user.username}",
        now=now,
    )


# --- Participation and quotas ---------------------------------------------------------------


def joined_competition_ids(session: Session, user_id: int) -> set[int]:
    """The competitions a user has joined."""
    return set(
        session.scalars(
            select(Participation.competition_id).where(Participation.user_id == user_id)
        )
    )


def get_participation(session: Session, competition_id: int, user_id: int) -> Participation | None:
    return session.scalar(
        select(Participation).where(
            Participation.competition_id == competition_id, Participation.user_id == user_id
        )
    )


def join(
    session: Session,
    competition: Competition,
    user: User,
    *,
    accept_terms: bool = False,
    now: datetime | None = None,
) -> Participation:
    """Join a competition, accepting its terms if it has any; joining twice is a conflict."""
    if get_participation(session, competition.id, user.id) is not None:
        raise Conflict(ALREADY_JOINED)
    has_terms = bool(competition.terms.strip())
    if has_terms and not accept_terms:
        raise InvalidInput(TERMS_NOT_ACCEPTED, field="accept_terms")
    participation = Participation(
        competition_id=competition.id,
        user_id=user.id,
        terms_accepted_at=(now or utcnow()) if has_terms else None,
    )
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

    def plus_one(self) -> Quota:
        """The quota once one more submission made now counts."""
        return replace(self, used_today=self.used_today + 1, used_total=self.used_total + 1)


@cache
def _counted(*, by_team: bool) -> Select[Any]:
    """:func:`quota`'s count, built once (building costs more than running, on every upload)."""
    competitor = Submission.team_id if by_team else Submission.user_id
    day_start = bindparam("day_start", type_=UTCDateTime())
    return select(
        func.count(),
        func.coalesce(func.sum(case((Submission.created_at >= day_start, 1), else_=0)), 0),
    ).where(
        Submission.phase_id == bindparam("phase_id"),
        competitor == bindparam("competitor"),
        Submission.status != SubmissionStatus.FAILED,
        Submission.is_baseline.is_(False),
    )


def quota(
    session: Session, phase: Phase, user_id: int, now: datetime, *, team_id: int | None = None
) -> Quota:
    """Submissions that count: every one that has not failed (organizer baselines excluded),
    the whole team's when the participant submits for a team."""
    used_total, used_today = session.execute(
        _counted(by_team=team_id is not None),
        {
            "phase_id": phase.id,
            "competitor": user_id if team_id is None else team_id,
            "day_start": utc_day_start(now),
        },
    ).one()
    return Quota(
        daily_limit=phase.daily_limit,
        used_today=int(used_today),
        total_limit=phase.total_limit,
        used_total=int(used_total),
        resets_at=next_utc_midnight(now),
    )
