"""Team forms on a competition's page: create, join by invite code, leave, the captain's powers."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import Response

from app.deps import PATH_IDS_FIRST, DbId
from app.errors import AppError
from app.models import Team
from app.routes.pages.forms import PostedForm, see_other
from app.routes.pages.render import flash
from app.services import teams

router = APIRouter()


def _competition_page(post: PostedForm, team_id: int) -> str:
    team = post.session.get(Team, team_id)
    return f"/competitions/{team.competition_id}#team" if team else "/"


def _flashed(post: PostedForm, back: str, refused: str) -> Callable[[AppError], Response]:
    """Show any problem on the competition's page: a mistyped invite code is no error page."""

    def show(error: AppError) -> Response:
        flash(post.request, f"{refused}: {error.message}")
        return see_other(back)

    return show


@router.post("/competitions/{competition_id}/teams", dependencies=PATH_IDS_FIRST)
def create_team(competition_id: DbId, post: PostedForm) -> Response:
    """Create a team; the viewer becomes its captain."""
    back = f"/competitions/{competition_id}#team"
    return post.run(
        lambda: teams.create_team(
            post.session, competition_id, post.user, name=post.text("name"), now=post.now
        ),
        back=back,
        done=lambda team: f"Team “{team.name}” created. Share its invite code with your teammates.",
        on_error=_flashed(post, back, "No team created"),
    )


@router.post("/competitions/{competition_id}/teams/join", dependencies=PATH_IDS_FIRST)
def join_team(competition_id: DbId, post: PostedForm) -> Response:
    """Join a team by its invite code."""
    back = f"/competitions/{competition_id}#team"
    return post.run(
        lambda: teams.join_team(
            post.session,
            competition_id,
            post.user,
            invite_code=post.text("invite_code"),
            now=post.now,
        ),
        back=back,
        done=lambda team: f"You joined team “{team.name}”.",
        on_error=_flashed(post, back, "Not joined"),
    )


@router.post("/teams/{team_id}/leave", dependencies=PATH_IDS_FIRST)
def leave_team(team_id: DbId, post: PostedForm) -> Response:
    """Leave one's team."""
    back = _competition_page(post, team_id)
    return post.run(
        lambda: teams.leave_team(post.session, team_id, post.user, now=post.now),
        back=back,
        done="You left the team.",
        refused="Not left",
    )


@router.post("/teams/{team_id}/members/{username}/remove", dependencies=PATH_IDS_FIRST)
def remove_member(team_id: DbId, username: str, post: PostedForm) -> Response:
    """The captain removes a member."""
    return post.run(
        lambda: teams.remove_member(post.session, team_id, post.user, username, now=post.now),
        back=_competition_page(post, team_id),
        done=f"{username} is no longer in the team.",
        refused="Not removed",
    )


@router.post("/teams/{team_id}/captain", dependencies=PATH_IDS_FIRST)
def hand_over(team_id: DbId, post: PostedForm) -> Response:
    """The captain hands the captaincy to another member."""
    username = post.text("username")
    return post.run(
        lambda: teams.hand_over(post.session, team_id, post.user, username, now=post.now),
        back=_competition_page(post, team_id),
        done=f"{username} is now the captain.",
        refused="Captaincy not handed over",
    )
