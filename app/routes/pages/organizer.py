"""Organizer pages under /organize: the dashboard, competitions, phases and their settings,
test-set uploads. Moderation, re-scoring, kits and the audit log are in ``moderation``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic_core import PydanticUndefined
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.deps import ORGANIZER_ONLY, DbId, NowDep, SessionDep, SettingsDep
from app.errors import AppError
from app.models import EntrySelection, Phase, TestSetVersion, TiePolicy, User
from app.phase_settings import BLANK_MEANS_NONE, CHECKBOXES, PhaseSettings
from app.presenters import organizer_phase_out
from app.routes.pages.confirmations import REVEAL
from app.routes.pages.forms import PostedForm, Viewer, chosen_file, form_fields
from app.routes.pages.paging import Listing, ListingDep, Pages
from app.routes.pages.render import render
from app.schemas import TestSetOut
from app.services import (
    competitions,
    inputs,
    kits,
    moderation,
    phases,
    rescore,
    teams,
    testsets,
)
from scoring.groups import SCORE_NAMES
from scoring.inference import PROVIDERS

router = APIRouter(prefix="/organize")

DATETIME_INPUT = "%Y-%m-%dT%H:%M"
LATEST_RESCORES = 5
CHOICES: dict[str, Any] = {
    "entry_selections": [e.value for e in EntrySelection],
    "tie_policies": [t.value for t in TiePolicy],
    "primary_columns": list(SCORE_NAMES),
    "providers": list(PROVIDERS),
    "kinds": ["predictions", "model"],
}


@dataclass(frozen=True)
class _FirstRows:
    """A pager for the first ``count`` rows of a list shown in part on another page."""

    listing: Listing
    count: int

    def pages(self, total: int) -> Pages:
        return self.listing.pages(total, per_page=self.count)


def phase_form_values(phase: Phase | None) -> dict[str, Any]:
    """What the phase settings form shows: a phase's settings, or the defaults of a new one."""
    fields = PhaseSettings.model_fields
    if phase is None:
        values = {
            name: field.get_default(call_default_factory=True) for name, field in fields.items()
        }
        values["name"] = "" if values["name"] is PydanticUndefined else values["name"]
    else:
        values = {name: getattr(phase, name) for name in fields}
    for name, value in values.items():
        if isinstance(value, datetime):
            values[name] = value.strftime(DATETIME_INPUT)
        elif isinstance(value, EntrySelection | TiePolicy):
            values[name] = value.value
        elif value is None and name in BLANK_MEANS_NONE:
            values[name] = ""
    return values


def typed_phase_form(form: FormData) -> dict[str, Any]:
    """The phase settings form as typed, to validate or to show again with its problem."""
    typed = {"submission_kinds": []} | form_fields(form, lists=("submission_kinds",))
    return typed | {field: bool(typed.get(field)) for field in CHECKBOXES}


def _testsets_for(session: Session, user: User, phase: Phase | None) -> list[Any]:
    """The test sets a phase form offers: the viewer's, and the phase's current one."""
    available = testsets.list_testsets(session, user)
    current = phase.testset if phase is not None else None
    if current is not None and all(t.id != current.id for t in available):
        available.append(current)
    return available


# --- Dashboard and competitions -------------------------------------------------------------


def _dashboard(
    request: Request,
    session: Session,
    user: User,
    now: datetime,
    *,
    error: AppError | None = None,
    form: dict[str, Any] | None = None,
    listing: Listing | None = None,
) -> Response:
    listing = listing or Listing(request, 1, "")
    pages, organized = competitions.competitions_page(
        session, listing, search=listing.search, organizer=user
    )
    return render(
        request,
        "organizer/dashboard.html",
        status_code=error.status_code if error else 200,
        competitions=organized,
        pages=pages,
        listing=listing,
        can_create=user.can_create_competitions,
        now=now,
        error=error,
        form=form or {"title": "", "description": ""},
    )


@router.get("", response_class=HTMLResponse)
def dashboard(
    request: Request, session: SessionDep, user: Viewer, now: NowDep, listing: ListingDep
) -> Response:
    """The competitions the viewer organizes, a page at a time, and a form to create one."""
    return _dashboard(request, session, user, now, listing=listing)


@router.post("/competitions", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse)
def create_competition(post: PostedForm) -> Response:
    """Create a competition and go to its organizer page."""
    typed = {"title": post.text("title"), "description": post.text("description")}
    return post.run(
        lambda: competitions.create_competition(post.session, post.user, **typed, now=post.now),
        back="/organize",
        done=lambda c: f"Competition “{c.title}” created. Add a phase with its test set.",
        then=lambda c: f"/organize/competitions/{c.id}",
        on_error=lambda error: _dashboard(
            post.request, post.session, post.user, post.now, error=error, form=typed
        ),
    )


def _competition_page(
    request: Request,
    session: Session,
    competition_id: DbId,
    user: User,
    now: datetime,
    *,
    error: AppError | None = None,
    phase_form: dict[str, Any] | None = None,
    listing: Listing | None = None,
) -> Response:
    competition = competitions.require_organizer(session, competition_id, user)
    listing = listing or Listing(request, 1, "")
    pages, participants = moderation.participants_page(
        session, competition.id, user, listing, search=listing.search
    )
    return render(
        request,
        "organizer/competition.html",
        status_code=error.status_code if error else 200,
        competition=competition,
        phases=phases.list_phases(session, competition.id),
        organizers=competitions.list_organizers(session, competition.id, user),
        participants=participants,
        pages=pages,
        listing=listing,
        teams=teams.list_teams(session, competition.id, user),
        testsets=_testsets_for(session, user, None),
        phase_form=phase_form or phase_form_values(None),
        error=error,
        now=now,
        **CHOICES,
    )


@router.get(
    "/competitions/{competition_id}", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse
)
def competition_page(
    competition_id: DbId,
    request: Request,
    session: SessionDep,
    user: Viewer,
    now: NowDep,
    listing: ListingDep,
) -> Response:
    """A competition's settings, phases, organizers and participants (a page at a time)."""
    return _competition_page(request, session, competition_id, user, now, listing=listing)


@router.post("/competitions/{competition_id}", dependencies=ORGANIZER_ONLY)
def update_competition(competition_id: DbId, post: PostedForm) -> Response:
    """Save the title, the Markdown tabs (overview, evaluation, terms, data) and the teams."""
    typed = {
        name: post.text(name)
        for name in (
            "title",
            "description",
            "evaluation",
            "terms",
            "data",
            "team_mode",
            "max_team_size",
        )
        if name in post.form
    }
    return post.run(
        lambda: competitions.update_competition(
            post.session, competition_id, post.user, typed, now=post.now
        ),
        back=f"/organize/competitions/{competition_id}",
        done="Competition saved.",
        refused="Not saved",
    )


@router.post(
    "/competitions/{competition_id}/phases",
    dependencies=ORGANIZER_ONLY,
    response_class=HTMLResponse,
)
def create_phase(competition_id: DbId, post: PostedForm) -> Response:
    """Add a phase; a problem is shown on the form with what was typed."""
    typed = typed_phase_form(post.form)
    return post.run(
        lambda: phases.create_phase(
            post.session, competition_id, post.user, PhaseSettings.from_form(typed), now=post.now
        ),
        back=f"/organize/competitions/{competition_id}",
        done=lambda phase: f"Phase “{phase.name}” created.",
        then=lambda phase: f"/organize/phases/{phase.id}",
        on_error=lambda error: _competition_page(
            post.request,
            post.session,
            competition_id,
            post.user,
            post.now,
            error=error,
            phase_form=typed,
        ),
    )


# --- Test sets ------------------------------------------------------------------------------


def _testsets_page(
    request: Request, session: Session, user: User, *, error: AppError | None = None
) -> Response:
    return render(
        request,
        "organizer/testsets.html",
        status_code=error.status_code if error else 200,
        testsets=[TestSetOut.model_validate(t) for t in testsets.list_testsets(session, user)],
        can_upload=user.can_create_competitions,
        error=error,
    )


@router.get("/testsets", response_class=HTMLResponse)
def testsets_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    """Upload a hidden test set; the viewer's uploaded test sets."""
    return _testsets_page(request, session, user)


@router.post("/testsets", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse)
def upload_testset(
    post: PostedForm,
    settings: SettingsDep,
    after_commit: BackgroundTasks,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Validate and import a test set zip; its report, or the precise problem, is shown."""

    def upload() -> TestSetVersion:
        testset = testsets.upload_testset(
            post.session,
            settings,
            post.user,
            chosen_file(file),
            name=post.text("name"),
            image_height=post.text("image_height", "224"),
            image_width=post.text("image_width", "224"),
            now=post.now,
        )
        # Its test-inputs downloads are built once the import is committed, off the request.
        after_commit.add_task(inputs.build_logged, inputs.Source.of(settings, testset))
        return testset

    return post.run(
        upload,
        back="/organize/testsets",
        done=lambda t: f"Test set “{t.name}” imported: {t.n_items} items.",
        then=lambda t: f"/organize/testsets/{t.id}",
        on_error=lambda error: _testsets_page(post.request, post.session, post.user, error=error),
    )


@router.get("/testsets/{testset_id}", response_class=HTMLResponse)
def testset_page(testset_id: DbId, request: Request, session: SessionDep, user: Viewer) -> Response:
    """A test set's import report: layout, fingerprint, counts per group, image sizes."""
    testset = testsets.require_visible(session, testset_id, user)
    return render(request, "organizer/testset.html", testset=TestSetOut.model_validate(testset))


# --- Phases ---------------------------------------------------------------------------------


def _phase_page(
    request: Request,
    session: Session,
    phase_id: DbId,
    user: User,
    now: datetime,
    *,
    error: AppError | None = None,
    phase_form: dict[str, Any] | None = None,
) -> Response:
    phase = phases.require_organized(session, phase_id, user)
    # The latest few with their reports; the rest are listed on /organize/phases/{id}/rescores.
    latest = Listing(request, 1, "")
    runs_page, runs = rescore.rescores_page(
        session, phase.id, user, _FirstRows(latest, LATEST_RESCORES)
    )
    return render(
        request,
        "organizer/phase.html",
        status_code=error.status_code if error else 200,
        phase=phase,
        competition=phase.competition,
        settings=organizer_phase_out(phase, now=now),
        phase_form=phase_form or phase_form_values(phase),
        testsets=_testsets_for(session, user, phase),
        kit_files={f.kind: f for f in kits.list_kits(session, phase.id)},
        kit_labels=kits.KIT_LABELS,
        rescores=[rescore.report(session, run) for run, _ in runs],
        rescore_count=runs_page.total,
        error=error,
        now=now,
        **CHOICES,
    )


@router.get("/phases/{phase_id}", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse)
def phase_page(
    phase_id: DbId, request: Request, session: SessionDep, user: Viewer, now: NowDep
) -> Response:
    """A phase's settings, reveal, re-scoring, kits, baselines and exports."""
    return _phase_page(request, session, phase_id, user, now)


@router.post("/phases/{phase_id}", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse)
def update_phase(phase_id: DbId, post: PostedForm) -> Response:
    """Save a phase's settings; a problem is shown on the form with what was typed."""
    typed = typed_phase_form(post.form)
    return post.run(
        lambda: phases.update_phase(
            post.session, phase_id, post.user, PhaseSettings.from_form(typed), now=post.now
        ),
        back=f"/organize/phases/{phase_id}",
        done="Phase settings saved.",
        on_error=lambda error: _phase_page(
            post.request, post.session, phase_id, post.user, post.now, error=error, phase_form=typed
        ),
    )


@router.post("/phases/{phase_id}/reveal", dependencies=ORGANIZER_ONLY)
def reveal(phase_id: DbId, post: PostedForm) -> Response:
    """Publish the private leaderboard."""
    return post.run(
        lambda: phases.reveal_private(post.session, phase_id, post.user, now=post.now),
        back=f"/organize/phases/{phase_id}",
        done="The private leaderboard is now public.",
        confirm=REVEAL,
    )
