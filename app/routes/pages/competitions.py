"""The competitions list, a competition's overview and joining it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import DbId, NowDep, OptionalUser, SessionDep, SettingsDep
from app.errors import InvalidInput
from app.models import Phase, PhaseFile, Split
from app.routes.pages.forms import login_redirect, require_csrf, safe_next, see_other
from app.routes.pages.leaderboards import may_see
from app.routes.pages.paging import ListingDep
from app.routes.pages.render import flash, render, show_viewer
from app.services import competitions, kits, teams
from app.services import inputs as test_inputs
from app.services.competitions import Quota
from app.services.inputs import InputsState

router = APIRouter()
TABS = (
    ("overview", "Overview"),
    ("evaluation", "Evaluation"),
    ("terms", "Terms"),
    ("data", "Data"),
)
"""The competition page's tabs: links (``?tab=``) rendered by the server, no script needed."""


@dataclass(frozen=True)
class PhaseView:
    """A phase as its overview shows it: with the viewer's quota once they have joined."""

    phase: Phase
    is_open: bool
    quota: Quota | None
    leaderboard_visible: bool
    private_visible: bool
    kits: tuple[PhaseFile, ...] = ()
    """The starting kit and sample submission, when uploaded."""
    inputs: InputsState | None = None
    """The test inputs' downloads, for a viewer who may download them from this page."""

    @property
    def is_synthetic(self) -> bool:
        return self.phase.testset is not None and self.phase.testset.is_synthetic


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request, session: SessionDep, user: OptionalUser, now: NowDep, listing: ListingDep
) -> HTMLResponse:
    """The competitions, newest first, a page at a time; the ones the viewer joined marked."""
    show_viewer(request, user)
    pages, shown = competitions.competitions_page(session, listing, search=listing.search)
    return render(
        request,
        "pages/index.html",
        competitions=shown,
        pages=pages,
        listing=listing,
        joined=competitions.joined_competition_ids(session, user.id) if user else set(),
        now=now,
    )


@router.get("/competitions/{competition_id}", response_class=HTMLResponse)
def competition_page(
    competition_id: DbId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: OptionalUser,
    now: NowDep,
    tab: str = "overview",
) -> HTMLResponse:
    """A competition: its tabs (overview, evaluation, terms, data), its phases, and the viewer's
    standing in each."""
    show_viewer(request, user)
    competition = competitions.get_competition(session, competition_id)
    organizer = competitions.is_organizer(session, competition.id, user)
    participation = (
        competitions.get_participation(session, competition.id, user.id) if user else None
    )
    joined = participation is not None
    disqualified = participation is not None and participation.disqualified_at is not None
    phases = []
    for summary in competition.phases:
        phase = competitions.get_phase(session, summary.id)
        phases.append(
            PhaseView(
                phase=phase,
                is_open=phase.is_open(now),
                quota=(
                    teams.quota_for(session, competition, phase, user.id, now)
                    if user and joined and not disqualified
                    else None
                ),
                leaderboard_visible=may_see(phase, Split.PUBLIC, organizer=organizer, now=now),
                private_visible=phase.public_fraction is not None
                and may_see(phase, Split.PRIVATE, organizer=organizer, now=now),
                kits=tuple(kits.list_kits(session, phase.id)),
                inputs=(
                    test_inputs.state_of(settings, phase.testset)
                    if phase.testset and phase.inputs_public and (joined or organizer)
                    else None
                ),
            )
        )
    team = teams.team_of(session, competition.id, user.id) if user and joined else None
    return render(
        request,
        "pages/competition.html",
        competition=competition,
        team=teams.view(session, team) if team else None,
        is_captain=team is not None and user is not None and team.captain_id == user.id,
        phases=phases,
        joined=joined,
        participation=participation,
        disqualified=disqualified,
        organizer=organizer,
        now=now,
        kit_labels=kits.KIT_LABELS,
        tabs=[
            (name, label)
            for name, label in TABS
            if name == "overview" or getattr(competition, name)
        ],
        tab=tab
        if tab in dict(TABS) and (tab == "overview" or getattr(competition, tab))
        else "overview",
    )


@router.post("/competitions/{competition_id}/join")
def join(
    competition_id: DbId,
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    now: NowDep,
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    accept_terms: Annotated[str, Form()] = "",
) -> Response:
    """Join a competition, accepting its terms if it has any; joining again is harmless."""
    back = safe_next(next, default=f"/competitions/{competition_id}")
    if user is None:
        return login_redirect(request, back=back)
    show_viewer(request, user)
    require_csrf(request, csrf_token)
    competition = competitions.get_competition(session, competition_id)
    if competitions.get_participation(session, competition.id, user.id) is None:
        try:
            competitions.join(
                session, competition, user, accept_terms=accept_terms == "yes", now=now
            )
        except InvalidInput as problem:
            flash(request, problem.message)
            return see_other(f"/competitions/{competition.id}?tab=terms#join-form")
        flash(request, f"You joined {competition.title}.")
    return see_other(back)
