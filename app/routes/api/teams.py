"""Teams: creating and joining one, reading it, leaving it, and the captain's powers."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.deps import ORGANIZER_ONLY, CurrentUser, DbId, NowDep, SessionDep
from app.schemas import InviteIn, TeamIn, TeamOut, UsernameIn
from app.services import teams

router = APIRouter(tags=["teams"])


def _out(session: SessionDep, team_id: int) -> TeamOut:
    return teams.view(session, teams.get_team(session, team_id))


@router.post(
    "/competitions/{competition_id}/teams",
    status_code=status.HTTP_201_CREATED,
    response_model=TeamOut,
)
def create_team(
    competition_id: DbId, body: TeamIn, session: SessionDep, user: CurrentUser, now: NowDep
) -> TeamOut:
    """Create a team (name unique in the competition); the caller is its captain."""
    team = teams.create_team(session, competition_id, user, name=body.name, now=now)
    return _out(session, team.id)


@router.get(
    "/competitions/{competition_id}/teams",
    dependencies=ORGANIZER_ONLY,
    response_model=list[TeamOut],
)
def list_teams(competition_id: DbId, session: SessionDep, user: CurrentUser) -> list[TeamOut]:
    """Every team of the competition with its members and invite code (organizers)."""
    return teams.list_teams(session, competition_id, user)


@router.post("/competitions/{competition_id}/teams/join", response_model=TeamOut)
def join_team(
    competition_id: DbId, body: InviteIn, session: SessionDep, user: CurrentUser, now: NowDep
) -> TeamOut:
    """Join the team whose invite code this is."""
    team = teams.join_team(session, competition_id, user, invite_code=body.invite_code, now=now)
    return _out(session, team.id)


@router.get("/teams/{team_id}", response_model=TeamOut)
def get_team(team_id: DbId, session: SessionDep, user: CurrentUser) -> TeamOut:
    """A team, its members, captain and invite code (its members and the organizers)."""
    return _out(session, teams.require_visible(session, team_id, user).id)


@router.post("/teams/{team_id}/leave", status_code=status.HTTP_204_NO_CONTENT)
def leave_team(team_id: DbId, session: SessionDep, user: CurrentUser, now: NowDep) -> None:
    """Leave the team (refused once it has submitted)."""
    teams.leave_team(session, team_id, user, now=now)


@router.post("/teams/{team_id}/members/{username}/remove", response_model=TeamOut)
def remove_member(
    team_id: DbId, username: str, session: SessionDep, user: CurrentUser, now: NowDep
) -> TeamOut:
    """The captain removes a member before the team submits; an organizer at any time."""
    teams.remove_member(session, team_id, user, username, now=now)
    return _out(session, team_id)


@router.post("/teams/{team_id}/captain", response_model=TeamOut)
def hand_over(
    team_id: DbId, body: UsernameIn, session: SessionDep, user: CurrentUser, now: NowDep
) -> TeamOut:
    """The captain hands the captaincy over to another member."""
    teams.hand_over(session, team_id, user, body.username, now=now)
    return _out(session, team_id)
