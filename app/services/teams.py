"""Teams: creating and joining one, leaving, the captain's powers, and who a team's members are.

A team is the competitor of a competition in team mode: its members' submissions share one
quota and one leaderboard row. Once a team has submitted, its membership is frozen (an
organizer may still remove a member), so a quota cannot be multiplied by hopping between
teams. Every change is recorded in the audit log.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Conflict, Forbidden, InvalidInput, NotFound, NotJoined, TeamRequired
from app.jobs import board_versions
from app.models import Competition, Phase, Submission, Team, TeamMember, TeamMode, User
from app.schemas import TeamOut
from app.services import audit, competitions

TEAMS_OFF = "this competition is not played in teams"
TEAM_NAME_REQUIRED = "the team name must not be empty"
TEAM_NAME_TOO_LONG = "the team name must be at most 100 characters (got {length})"
TEAM_NAME_TAKEN = "a team named {name!r} already exists in this competition"
NOT_JOINED_TEAM = "join the competition before creating or joining a team"
ALREADY_IN_TEAM = "you are already in team {name!r} in this competition; leave it first"
BAD_INVITE_CODE = "no team of this competition has the invite code {code!r}"
TEAM_FULL = "team {name!r} is full: it has its {size} members"
TEAM_FROZEN = (
    "team {name!r} has submitted in phase {phase!r}, so its members can no longer change; "
    "ask an organizer"
)
SUBMITTED_ALONE = (
    "you have already submitted on your own in this competition, so you cannot join a team"
)
TEAM_NOT_FOUND = "team {id} not found"
NOT_A_MEMBER = "{username!r} is not a member of team {name!r}"
NOT_CAPTAIN = "only the captain of team {name!r} may do this"
TEAM_REQUIRED = "this competition is played in teams: create or join a team before submitting"
USE_LEAVE = "to leave the team yourself, use leave"
INVITE_CODE_BYTES = 12


def get_team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(TEAM_NOT_FOUND.format(id=team_id))
    return team


def team_of(session: Session, competition_id: int, user_id: int) -> Team | None:
    """The user's team in a competition, if any."""
    return session.scalar(
        select(Team)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.competition_id == competition_id, TeamMember.user_id == user_id)
    )


def is_member(session: Session, team_id: int, user_id: int) -> bool:
    return bool(
        session.scalar(
            select(func.count()).where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
        )
    )


def members_of(session: Session, team_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each team's members' usernames, earliest member first."""
    return {
        team_id: [name for _, name in members]
        for team_id, members in member_ids_and_names(session, team_ids).items()
    }


def member_ids_and_names(
    session: Session, team_ids: Iterable[int]
) -> dict[int, list[tuple[int, str]]]:
    """Each team's members as (user id, username), earliest member first."""
    wanted = sorted(set(team_ids))
    found: dict[int, list[tuple[int, str]]] = {team_id: [] for team_id in wanted}
    if not wanted:
        return found
    rows = session.execute(
        select(TeamMember.team_id, User.id, User.username)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id.in_(wanted))
        .order_by(TeamMember.joined_at, TeamMember.id)
    )
    for team_id, user_id, username in rows:
        found[team_id].append((user_id, username))
    return found


def first_submission_phase(session: Session, team: Team) -> str | None:
    """The phase of the team's first submission (None before it submits): it freezes the team."""
    return session.scalar(
        select(Phase.name)
        .join(Submission, Submission.phase_id == Phase.id)
        .where(Submission.team_id == team.id)
        .order_by(Submission.created_at, Submission.id)
        .limit(1)
    )


def view(session: Session, team: Team) -> TeamOut:
    """A team as its members and the organizers see it (the invite code included)."""
    captain = session.get(User, team.captain_id) if team.captain_id is not None else None
    return TeamOut(
        id=team.id,
        competition_id=team.competition_id,
        name=team.name,
        invite_code=team.invite_code,
        members=members_of(session, [team.id])[team.id],
        captain=captain.username if captain else None,
        created_at=team.created_at,
        frozen=first_submission_phase(session, team) is not None,
    )


def list_teams(session: Session, competition_id: int, actor: User) -> list[TeamOut]:
    """Every team of a competition, oldest first (its organizers only)."""
    competitions.require_organizer(session, competition_id, actor)
    found = session.scalars(
        select(Team).where(Team.competition_id == competition_id).order_by(Team.id)
    )
    return [view(session, team) for team in found]


def require_visible(session: Session, team_id: int, viewer: User) -> Team:
    """A team its members and the competition's organizers may see; others get the 404."""
    team = session.get(Team, team_id)
    if team is None or not (
        is_member(session, team.id, viewer.id)
        or competitions.is_organizer(session, team.competition_id, viewer)
    ):
        raise NotFound(TEAM_NOT_FOUND.format(id=team_id))
    return team


def submitting_team(session: Session, competition: Competition, user: User) -> Team | None:
    """The team a participant's submission counts for; refused without one in required mode."""
    if competition.team_mode is TeamMode.OFF:
        return None
    team = team_of(session, competition.id, user.id)
    if team is None and competition.team_mode is TeamMode.REQUIRED:
        raise TeamRequired(TEAM_REQUIRED)
    return team


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(TEAM_NAME_REQUIRED, field="name")
    if len(name) > 100:
        raise InvalidInput(TEAM_NAME_TOO_LONG.format(length=len(name)), field="name")
    return name


def _check_can_join(session: Session, competition: Competition, user: User) -> None:
    if competition.team_mode is TeamMode.OFF:
        raise Conflict(TEAMS_OFF)
    if competitions.get_participation(session, competition.id, user.id) is None:
        raise NotJoined(NOT_JOINED_TEAM)
    current = team_of(session, competition.id, user.id)
    if current is not None:
        raise Conflict(ALREADY_IN_TEAM.format(name=current.name))
    # Solo submissions would stay a row of their own and their quota would be spent twice.
    alone = exists().where(
        Submission.user_id == user.id,
        Submission.team_id.is_(None),
        Submission.is_baseline.is_(False),
        Submission.phase_id.in_(select(Phase.id).where(Phase.competition_id == competition.id)),
    )
    if session.scalar(select(alone)):
        raise Conflict(SUBMITTED_ALONE)


def _check_not_frozen(session: Session, team: Team) -> None:
    """Refuse a membership change once the team has submitted. Takes the team row's lock
    first, as a member's submission does, so neither a join nor a leave slips past a
    submission being made (and two newcomers cannot both take the last place)."""
    session.execute(update(Team).where(Team.id == team.id).values(name=Team.name))
    phase = first_submission_phase(session, team)
    if phase is not None:
        raise Conflict(TEAM_FROZEN.format(name=team.name, phase=phase))


def _add_member(session: Session, team: Team, user: User, now: datetime) -> None:
    """Insert the membership; the unique (competition, user) key settles a concurrent join."""
    try:
        with session.begin_nested():
            session.add(
                TeamMember(
                    team_id=team.id,
                    competition_id=team.competition_id,
                    user_id=user.id,
                    joined_at=now,
                )
            )
    except IntegrityError:
        current = team_of(session, team.competition_id, user.id)
        raise Conflict(
            ALREADY_IN_TEAM.format(name=current.name if current else team.name)
        ) from None


def create_team(
    session: Session, competition_id: int, actor: User, *, name: str, now: datetime
) -> Team:
    """A new team with ``actor`` as its captain and only member."""
    competition = competitions.get_competition(session, competition_id)
    name = _clean_name(name)
    _check_can_join(session, competition, actor)
    taken = select(Team.id).where(Team.competition_id == competition.id, Team.name == name)
    if session.scalar(taken) is not None:
        raise Conflict(TEAM_NAME_TAKEN.format(name=name))
    team = Team(
        competition_id=competition.id,
        name=name,
        invite_code=secrets.token_urlsafe(INVITE_CODE_BYTES),
        captain_id=actor.id,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(team)
    except IntegrityError:
        raise Conflict(TEAM_NAME_TAKEN.format(name=name)) from None
    _add_member(session, team, actor, now)
    _record(session, actor, "team.create", team, now)
    return team


def join_team(
    session: Session, competition_id: int, actor: User, *, invite_code: str, now: datetime
) -> Team:
    """Join the competition's team that has this invite code."""
    competition = competitions.get_competition(session, competition_id)
    code = (invite_code or "").strip()
    team = session.scalar(
        select(Team).where(Team.competition_id == competition.id, Team.invite_code == code)
    )
    if team is None:
        raise NotFound(BAD_INVITE_CODE.format(code=code[:40]))
    _check_can_join(session, competition, actor)
    _check_not_frozen(session, team)
    size = len(members_of(session, [team.id])[team.id])
    if size >= competition.max_team_size:
        raise Conflict(TEAM_FULL.format(name=team.name, size=competition.max_team_size))
    _add_member(session, team, actor, now)
    _record(session, actor, "team.join", team, now)
    return team


def _membership(session: Session, team: Team, username: str) -> tuple[TeamMember, User]:
    if "\x00" in username:  # no user has one, and PostgreSQL refuses it in a query
        raise NotFound(NOT_A_MEMBER.format(username=username[:40], name=team.name))
    user = competitions.user_named(session, username)
    member = session.scalar(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id)
    )
    if member is None:
        raise NotFound(NOT_A_MEMBER.format(username=user.username, name=team.name))
    return member, user


def _drop_member(
    session: Session, team: Team, user: User, actor: User, action: str, now: datetime
) -> None:
    session.execute(
        delete(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id)
    )
    remaining = members_of(session, [team.id])[team.id]
    if team.captain_id == user.id:
        successor = remaining[0] if remaining else None
        team.captain_id = competitions.user_named(session, successor).id if successor else None
    _record(session, actor, action, team, now, member=user.username)
    board_versions.bump(
        session, select(Phase.id).where(Phase.competition_id == team.competition_id)
    )
    if not remaining and first_submission_phase(session, team) is None:
        session.delete(team)
    session.flush()


def leave_team(session: Session, team_id: int, actor: User, *, now: datetime) -> None:
    """Leave one's team (before it submits); the captaincy passes to the earliest member."""
    team = get_team(session, team_id)
    if not is_member(session, team.id, actor.id):
        raise NotFound(TEAM_NOT_FOUND.format(id=team_id))
    _check_not_frozen(session, team)
    _drop_member(session, team, actor, actor, "team.leave", now)


def remove_member(
    session: Session, team_id: int, actor: User, username: str, *, now: datetime
) -> None:
    """The captain removes a member before the team submits; an organizer, at any time."""
    team = require_visible(session, team_id, actor)
    organizer = competitions.is_organizer(session, team.competition_id, actor)
    if not organizer:
        if team.captain_id != actor.id:
            raise Forbidden(NOT_CAPTAIN.format(name=team.name))
        _check_not_frozen(session, team)
    _member, user = _membership(session, team, username)
    if user.id == actor.id:
        raise Conflict(USE_LEAVE)
    _drop_member(session, team, user, actor, "team.remove_member", now)


def hand_over(session: Session, team_id: int, actor: User, username: str, *, now: datetime) -> Team:
    """The captain (or an organizer) makes another member the captain."""
    team = require_visible(session, team_id, actor)
    if team.captain_id != actor.id and not competitions.is_organizer(
        session, team.competition_id, actor
    ):
        raise Forbidden(NOT_CAPTAIN.format(name=team.name))
    _member, user = _membership(session, team, username)
    team.captain_id = user.id
    session.flush()
    _record(session, actor, "team.captain", team, now, captain=user.username)
    return team


def _record(
    session: Session, actor: User, action: str, team: Team, now: datetime, **details: str
) -> None:
    session.flush()
    audit.record(
        session,
        actor,
        action,
        competition_id=team.competition_id,
        target=f"team {team.name}",
        now=now,
        team_id=team.id,
        **details,
    )


def quota_for(
    session: Session, competition: Competition, phase: Phase, user_id: int, now: datetime
) -> competitions.Quota:
    """A participant's quota in a phase: their team's when the competition is played in teams."""
    team = None
    if competition.team_mode is not TeamMode.OFF:
        team = team_of(session, competition.id, user_id)
    return competitions.quota(
        session, phase, user_id, now, team_id=team.id if team is not None else None
    )
