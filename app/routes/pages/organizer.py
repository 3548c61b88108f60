"""Organizer pages under /organize: competitions, phases and their rules, test-set uploads,
moderation, re-scoring reports, exports, kits and the audit log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.deps import (
    ORGANIZER_ONLY,
    CurrentUser,
    DatabaseDep,
    DbId,
    JobsDep,
    NowDep,
    OptionalUser,
    SessionDep,
    SettingsDep,
)
from app.errors import AppError, InvalidInput
from app.models import EntrySelection, Phase, TiePolicy, User
from app.routes.pages.forms import commit_and_redirect, login_redirect, require_csrf, see_other
from app.routes.pages.render import flash, render, show_viewer
from app.services import (
    audit,
    competitions,
    kits,
    moderation,
    organizer,
    rescore,
    submissions,
)
from scoring.groups import SCORE_NAMES

router = APIRouter(prefix="/organize")

FormText = Annotated[str, Form()]
NO_FILE_CHOSEN = "choose a file to upload"


def chosen_file(file: UploadFile | None) -> submissions.Upload:
    """The file a form uploaded, or the problem that none was chosen."""
    if file is None or not file.filename:
        raise InvalidInput(NO_FILE_CHOSEN, field="file")
    return submissions.Upload(file.filename, file.file)


DATETIME_INPUT = "%Y-%m-%dT%H:%M"
PHASE_FORM_BLANKS = (
    "testset_id",
    "daily_limit",
    "total_limit",
    "public_fraction",
    "model_input_height",
    "model_input_width",
)
"""Phase settings whose empty form field means None."""


def _phase_form_values(phase: Phase | None) -> dict[str, Any]:
    """What the phase settings form shows: a phase's settings, or the defaults of a new one."""
    if phase is None:
        values = dict(organizer.PHASE_DEFAULTS) | {"name": ""}
    else:
        values = {field: getattr(phase, field) for field in organizer.PHASE_FIELDS}
    for field in ("opens_at", "closes_at"):
        moment = values.get(field)
        values[field] = moment.strftime(DATETIME_INPUT) if isinstance(moment, datetime) else ""
    for field in ("entry_selection", "tie_policy"):
        value = values[field]
        values[field] = value.value if isinstance(value, EntrySelection | TiePolicy) else value
    for field in PHASE_FORM_BLANKS:
        values[field] = "" if values[field] is None else values[field]
    return values


def _phase_form_settings(form: dict[str, Any]) -> dict[str, Any]:
    """The submitted phase form as settings: blanks clear, checkboxes are on or off."""
    settings = dict(form)
    for field in ("inputs_public", "leaderboard_public"):
        settings[field] = bool(form.get(field))
    for field in PHASE_FORM_BLANKS:
        if str(form.get(field) or "").strip() == "":
            settings[field] = None
    return settings


def _choices() -> dict[str, Any]:
    return {
        "entry_selections": [e.value for e in EntrySelection],
        "tie_policies": [t.value for t in TiePolicy],
        "primary_columns": list(SCORE_NAMES),
        "providers": list(organizer.EXECUTION_PROVIDERS),
        "kinds": ["predictions", "model"],
    }


def _testsets_for(session: Session, user: User, phase: Phase | None) -> list[Any]:
    """The test sets a phase form offers: the viewer's, and the phase's current one."""
    available = organizer.list_testsets(session, user)
    current = phase.testset if phase is not None else None
    if current is not None and all(t.id != current.id for t in available):
        available.append(current)
    return available


# --- Dashboard and competitions -------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, user: OptionalUser, now: NowDep) -> Response:
    """The competitions the viewer organizes, and a form to create one."""
    if user is None:
        return login_redirect(request)
    show_viewer(request, user)
    return render(
        request,
        "organizer/dashboard.html",
        competitions=organizer.organized_competitions(session, user),
        can_create=user.can_create_competitions,
        now=now,
        form={"title": "", "description": ""},
    )


@router.post("/competitions", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse)
def create_competition(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    title: FormText = "",
    description: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Create a competition and go to its organizer page."""
    show_viewer(request, user)
    require_csrf(request, csrf_token)
    try:
        competition = organizer.create_competition(
            session, user, title=title, description=description, now=now
        )
    except AppError as error:
        session.rollback()
        return render(
            request,
            "organizer/dashboard.html",
            status_code=error.status_code,
            competitions=organizer.organized_competitions(session, user),
            can_create=user.can_create_competitions,
            now=now,
            error=error,
            form={"title": title, "description": description},
        )
    flash(request, f"Competition “{competition.title}” created. Add a phase with its test set.")
    return commit_and_redirect(session, f"/organize/competitions/{competition.id}")


def _competition_page(
    request: Request,
    session: Session,
    competition_id: int,
    user: User,
    now: datetime,
    *,
    status_code: int = 200,
    error: AppError | None = None,
    phase_form: dict[str, Any] | None = None,
) -> Response:
    competition = competitions.get_competition(session, competition_id)
    competitions.require_organizer(session, competition.id, user)
    phases = [competitions.get_phase(session, p.id) for p in competition.phases]
    return render(
        request,
        "organizer/competition.html",
        status_code=status_code,
        competition=competition,
        phases=phases,
        organizers=organizer.list_organizers(session, competition.id, user),
        participants=moderation.list_participants(session, competition.id, user),
        testsets=_testsets_for(session, user, None),
        phase_form=phase_form or _phase_form_values(None),
        error=error,
        now=now,
        **_choices(),
    )


@router.get(
    "/competitions/{competition_id}", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse
)
def competition_page(
    competition_id: DbId, request: Request, session: SessionDep, user: CurrentUser, now: NowDep
) -> Response:
    """A competition's settings, phases, organizers and participants."""
    show_viewer(request, user)
    return _competition_page(request, session, competition_id, user, now)


@router.post("/competitions/{competition_id}", dependencies=ORGANIZER_ONLY)
def update_competition(
    competition_id: DbId,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    title: FormText = "",
    description: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Save the title and the Markdown description."""
    back = f"/organize/competitions/{competition_id}"
    show_viewer(request, user)
    require_csrf(request, csrf_token)
    try:
        organizer.update_competition(
            session, competition_id, user, {"title": title, "description": description}, now=now
        )
    except InvalidInput as error:
        session.rollback()
        flash(request, f"Not saved: {error.message}")
        return see_other(back)
    flash(request, "Competition saved.")
    return commit_and_redirect(session, back)


class PhaseForm(BaseModel):
    """The phase settings form, as typed: parsed and validated by the organizer service."""

    name: str = ""
    description: str = ""
    testset_id: str = ""
    opens_at: str = ""
    closes_at: str = ""
    daily_limit: str = ""
    total_limit: str = ""
    public_fraction: str = ""
    inputs_public: str = ""
    leaderboard_public: str = ""
    entry_selection: str = "latest"
    primary_column: str = "mae"
    tie_policy: str = "dense"
    submission_kinds: list[str] = []
    execution_provider: str = "auto"
    model_time_limit_seconds: str = "900"
    model_memory_limit_mb: str = "4096"
    model_input_height: str = ""
    model_input_width: str = ""
    csrf_token: str = ""


@router.post(
    "/competitions/{competition_id}/phases",
    dependencies=ORGANIZER_ONLY,
    response_class=HTMLResponse,
)
def create_phase(
    competition_id: DbId,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    fields: Annotated[PhaseForm, Form()],
) -> Response:
    """Add a phase; a problem is shown on the form with what was typed."""
    show_viewer(request, user)
    require_csrf(request, fields.csrf_token)
    form = fields.model_dump(exclude={"csrf_token"})
    try:
        phase = organizer.create_phase(
            session, competition_id, user, _phase_form_settings(form), now=now
        )
    except AppError as error:
        session.rollback()
        shown = form | {
            "inputs_public": bool(fields.inputs_public),
            "leaderboard_public": bool(fields.leaderboard_public),
        }
        return _competition_page(
            request,
            session,
            competition_id,
            user,
            now,
            status_code=error.status_code,
            error=error,
            phase_form=shown,
        )
    flash(request, f"Phase “{phase.name}” created.")
    return commit_and_redirect(session, f"/organize/phases/{phase.id}")


@router.post("/competitions/{competition_id}/organizers", dependencies=ORGANIZER_ONLY)
def add_organizer(
    competition_id: DbId,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    username: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Add a co-organizer by username."""
    return _action(
        request,
        session,
        user,
        csrf_token,
        f"/organize/competitions/{competition_id}",
        lambda viewer: organizer.add_organizer(session, competition_id, viewer, username, now=now),
        f"{username.strip().lower()} now organizes this competition.",
    )


@router.post(
    "/competitions/{competition_id}/organizers/{username}/remove", dependencies=ORGANIZER_ONLY
)
def remove_organizer(
    competition_id: DbId,
    username: str,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    csrf_token: FormText = "",
) -> Response:
    """Remove a co-organizer."""
    return _action(
        request,
        session,
        user,
        csrf_token,
        f"/organize/competitions/{competition_id}",
        lambda viewer: organizer.remove_organizer(
            session, competition_id, viewer, username, now=now
        ),
        f"{username} no longer organizes this competition.",
    )


@router.post(
    "/competitions/{competition_id}/participants/{username}/disqualify", dependencies=ORGANIZER_ONLY
)
def disqualify(
    competition_id: DbId,
    username: str,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    reason: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Disqualify a participant, with a reason for the audit log."""
    return _action(
        request,
        session,
        user,
        csrf_token,
        f"/organize/competitions/{competition_id}",
        lambda viewer: moderation.disqualify(
            session, competition_id, viewer, username, reason=reason, now=now
        ),
        f"{username} is disqualified.",
    )


@router.post(
    "/competitions/{competition_id}/participants/{username}/requalify", dependencies=ORGANIZER_ONLY
)
def requalify(
    competition_id: DbId,
    username: str,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    csrf_token: FormText = "",
) -> Response:
    """Lift a disqualification."""
    return _action(
        request,
        session,
        user,
        csrf_token,
        f"/organize/competitions/{competition_id}",
        lambda viewer: moderation.requalify(session, competition_id, viewer, username, now=now),
        f"{username} is no longer disqualified.",
    )


@router.get(
    "/competitions/{competition_id}/audit", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse
)
def audit_page(
    competition_id: DbId,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Every organizer action in this competition, newest first."""
    show_viewer(request, user)
    competition = competitions.get_competition(session, competition_id)
    competitions.require_organizer(session, competition.id, user)
    return render(
        request,
        "organizer/audit.html",
        competition=competition,
        entries=audit.entries(session, competition.id, action=action or None),
        action=action or "",
    )


def _action(
    request: Request,
    session: Session,
    user: User,
    csrf_token: str,
    back: str,
    perform: Callable[[User], object],
    done: str,
) -> Response:
    """Run one organizer action from a form: its problem, or the notice, shows on ``back``.

    Refusals (not an organizer, no such thing) render as error pages; the route's
    ``ORGANIZER_ONLY`` dependency has already sent anonymous visitors to the login form.
    """
    show_viewer(request, user)
    require_csrf(request, csrf_token)
    try:
        perform(user)
    except AppError as error:
        if error.status_code in (401, 403, 404):
            raise
        session.rollback()
        flash(request, f"Not done: {error.message}")
        return see_other(back)
    flash(request, done)
    return commit_and_redirect(session, back)


# --- Test sets ------------------------------------------------------------------------------


@router.get("/testsets", response_class=HTMLResponse)
def testsets_page(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    """Upload a hidden test set; the viewer's uploaded test sets."""
    if user is None:
        return login_redirect(request)
    show_viewer(request, user)
    return render(
        request,
        "organizer/testsets.html",
        testsets=[organizer.testset_dict(t) for t in organizer.list_testsets(session, user)],
        can_upload=user.can_create_competitions,
    )


@router.post("/testsets", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse)
def upload_testset(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    now: NowDep,
    file: Annotated[UploadFile | None, File()] = None,
    name: FormText = "",
    image_height: FormText = "224",
    image_width: FormText = "224",
    csrf_token: FormText = "",
) -> Response:
    """Validate and import a test set zip; its report, or the precise problem, is shown."""
    show_viewer(request, user)
    require_csrf(request, csrf_token)
    try:
        testset = organizer.upload_testset(
            session,
            settings,
            user,
            chosen_file(file),
            name=name,
            image_height=image_height,
            image_width=image_width,
            now=now,
        )
    except AppError as error:
        session.rollback()
        return render(
            request,
            "organizer/testsets.html",
            status_code=error.status_code,
            testsets=[organizer.testset_dict(t) for t in organizer.list_testsets(session, user)],
            can_upload=user.can_create_competitions,
            error=error,
        )
    flash(request, f"Test set “{testset.name}” imported: {testset.n_items} items.")
    return commit_and_redirect(session, f"/organize/testsets/{testset.id}")


@router.get("/testsets/{testset_id}", response_class=HTMLResponse)
def testset_page(
    testset_id: DbId, request: Request, session: SessionDep, user: OptionalUser
) -> Response:
    """A test set's import report: layout, fingerprint, counts per group, image sizes."""
    if user is None:
        return login_redirect(request)
    show_viewer(request, user)
    testset = organizer.get_testset(session, testset_id, user)
    return render(request, "organizer/testset.html", testset=organizer.testset_dict(testset))


# --- Phases ---------------------------------------------------------------------------------


def _phase_page(
    request: Request,
    session: Session,
    phase_id: int,
    user: User,
    now: datetime,
    *,
    status_code: int = 200,
    error: AppError | None = None,
    phase_form: dict[str, Any] | None = None,
) -> Response:
    phase = competitions.get_phase(session, phase_id)
    competitions.require_organizer(session, phase.competition_id, user)
    runs = rescore.list_rescores(session, phase.id, user)
    return render(
        request,
        "organizer/phase.html",
        status_code=status_code,
        phase=phase,
        competition=phase.competition,
        settings=organizer.phase_settings_dict(phase, now=now),
        phase_form=phase_form or _phase_form_values(phase),
        testsets=_testsets_for(session, user, phase),
        kit_files={f.kind: f for f in kits.list_kits(session, phase.id)},
        kit_labels=kits.KIT_LABELS,
        rescores=[rescore.report(session, run) for run in runs[:10]],
        error=error,
        now=now,
        **_choices(),
    )


@router.get("/phases/{phase_id}", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse)
def phase_page(
    phase_id: DbId, request: Request, session: SessionDep, user: CurrentUser, now: NowDep
) -> Response:
    """A phase's settings, reveal, re-scoring, kits, baselines and exports."""
    show_viewer(request, user)
    return _phase_page(request, session, phase_id, user, now)


@router.post("/phases/{phase_id}", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse)
def update_phase(
    phase_id: DbId,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    fields: Annotated[PhaseForm, Form()],
) -> Response:
    """Save a phase's settings; a problem is shown on the form with what was typed."""
    show_viewer(request, user)
    require_csrf(request, fields.csrf_token)
    form = fields.model_dump(exclude={"csrf_token"})
    try:
        organizer.update_phase(session, phase_id, user, _phase_form_settings(form), now=now)
    except AppError as error:
        if error.status_code in (401, 403, 404):
            raise
        session.rollback()
        shown = form | {
            "inputs_public": bool(fields.inputs_public),
            "leaderboard_public": bool(fields.leaderboard_public),
        }
        return _phase_page(
            request,
            session,
            phase_id,
            user,
            now,
            status_code=error.status_code,
            error=error,
            phase_form=shown,
        )
    flash(request, "Phase settings saved.")
    return commit_and_redirect(session, f"/organize/phases/{phase_id}")


@router.post("/phases/{phase_id}/reveal", dependencies=ORGANIZER_ONLY)
def reveal(
    phase_id: DbId,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    csrf_token: FormText = "",
) -> Response:
    """Publish the private leaderboard."""
    return _action(
        request,
        session,
        user,
        csrf_token,
        f"/organize/phases/{phase_id}",
        lambda viewer: organizer.reveal_private(session, phase_id, viewer, now=now),
        "The private leaderboard is now public.",
    )


@router.post("/phases/{phase_id}/rescore", dependencies=ORGANIZER_ONLY)
def rescore_phase(
    phase_id: DbId,
    request: Request,
    session: SessionDep,
    jobs: JobsDep,
    user: CurrentUser,
    now: NowDep,
    testset_id: FormText = "",
    include_failed: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Re-run every finished submission (optionally on another test set); show the report."""
    back = f"/organize/phases/{phase_id}"
    show_viewer(request, user)
    require_csrf(request, csrf_token)
    try:
        run, pending = rescore.rescore_phase(
            session,
            phase_id,
            user,
            now=now,
            testset_id=int(testset_id) if testset_id.strip().isdigit() else None,
            include_failed=bool(include_failed),
        )
    except AppError as error:
        if error.status_code in (401, 403, 404):
            raise
        session.rollback()
        flash(request, f"Not re-scored: {error.message}")
        return see_other(back)
    session.commit()
    rescore.dispatch(jobs, pending)
    return see_other(f"/organize/rescores/{run.id}")


@router.get("/rescores/{rescore_id}", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse)
def rescore_page(
    rescore_id: DbId, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """What a re-scoring changed: scores and leaderboard positions before and after."""
    show_viewer(request, user)
    run = rescore.get_rescore(session, rescore_id, user)
    phase = competitions.get_phase(session, run.phase_id)
    return render(
        request,
        "organizer/rescore.html",
        report=rescore.report(session, run),
        phase=phase,
        competition=phase.competition,
        score_names=SCORE_NAMES,
    )


@router.post("/phases/{phase_id}/files/{kind}", dependencies=ORGANIZER_ONLY)
def upload_kit(
    phase_id: DbId,
    kind: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    now: NowDep,
    file: Annotated[UploadFile | None, File()] = None,
    csrf_token: FormText = "",
) -> Response:
    """Upload or replace the starting kit or the sample submission."""

    def perform(viewer: User) -> None:
        kits.upload_kit(
            session,
            settings,
            phase_id,
            viewer,
            kind=kind,
            upload=chosen_file(file),
            now=now,
        )

    return _action(
        request,
        session,
        user,
        csrf_token,
        f"/organize/phases/{phase_id}",
        perform,
        f"{kits.KIT_LABELS.get(kind, kind)} uploaded.",
    )


@router.post("/phases/{phase_id}/files/{kind}/delete", dependencies=ORGANIZER_ONLY)
def delete_kit(
    phase_id: DbId,
    kind: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    now: NowDep,
    csrf_token: FormText = "",
) -> Response:
    """Withdraw the starting kit or the sample submission."""
    return _action(
        request,
        session,
        user,
        csrf_token,
        f"/organize/phases/{phase_id}",
        lambda viewer: kits.delete_kit(session, settings, phase_id, viewer, kind=kind, now=now),
        f"{kits.KIT_LABELS.get(kind, kind)} withdrawn.",
    )


@router.post("/phases/{phase_id}/baselines", dependencies=ORGANIZER_ONLY)
def add_baseline(
    phase_id: DbId,
    request: Request,
    session: SessionDep,
    db: DatabaseDep,
    settings: SettingsDep,
    jobs: JobsDep,
    user: CurrentUser,
    now: NowDep,
    file: Annotated[UploadFile | None, File()] = None,
    description: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Add a baseline entry, shown on the leaderboard as “Baseline: <description>”."""

    def perform(viewer: User) -> None:
        moderation.add_baseline(
            session,
            db,
            settings,
            jobs,
            phase_id=phase_id,
            actor=viewer,
            upload=chosen_file(file),
            description=description,
            now=now,
        )

    return _action(
        request,
        session,
        user,
        csrf_token,
        f"/organize/phases/{phase_id}/submissions",
        perform,
        "Baseline added.",
    )


# --- Moderation -----------------------------------------------------------------------------


@router.get(
    "/phases/{phase_id}/submissions", dependencies=ORGANIZER_ONLY, response_class=HTMLResponse
)
def moderation_page(
    phase_id: DbId,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    participant: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query()] = None,
    kind: Annotated[str | None, Query()] = None,
) -> Response:
    """Every submission of the phase, filtered, with moderation actions."""
    show_viewer(request, user)
    phase = competitions.get_phase(session, phase_id)
    rows = moderation.list_submissions(
        session,
        phase.id,
        user,
        participant=participant or None,
        status=status or None,
        kind=kind or None,
    )
    return render(
        request,
        "organizer/submissions.html",
        phase=phase,
        competition=phase.competition,
        rows=[row.to_dict() for row in rows],
        filters={"participant": participant or "", "status": status or "", "kind": kind or ""},
        statuses=["queued", "running", "finished", "failed"],
        kinds=["predictions", "model"],
        score_names=SCORE_NAMES,
        back=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    )


def _back_to(back: str) -> str:
    """Where a moderation form returns: the page it was on, always under /organize."""
    return back if back.startswith("/organize/") and "//" not in back else "/organize"


@router.post("/submissions/{submission_id}/rerun", dependencies=ORGANIZER_ONLY)
def rerun(
    submission_id: DbId,
    request: Request,
    session: SessionDep,
    jobs: JobsDep,
    user: CurrentUser,
    now: NowDep,
    back: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Queue one submission again."""
    pending: list[Any] = []

    def perform(viewer: User) -> None:
        _, queued = rescore.rerun_submission(session, submission_id, viewer, now=now)
        pending.extend(queued)

    response = _action(
        request,
        session,
        user,
        csrf_token,
        _back_to(back),
        perform,
        f"Submission #{submission_id} queued again.",
    )
    rescore.dispatch(jobs, pending)
    return response


@router.post("/submissions/{submission_id}/hide", dependencies=ORGANIZER_ONLY)
def hide(
    submission_id: DbId,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    reason: FormText = "",
    back: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Take an entry off the leaderboard, with a reason."""
    return _action(
        request,
        session,
        user,
        csrf_token,
        _back_to(back),
        lambda viewer: moderation.set_hidden(
            session, submission_id, viewer, hidden=True, reason=reason, now=now
        ),
        f"Submission #{submission_id} is hidden.",
    )


@router.post("/submissions/{submission_id}/unhide", dependencies=ORGANIZER_ONLY)
def unhide(
    submission_id: DbId,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    back: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Put a hidden entry back on the leaderboard."""
    return _action(
        request,
        session,
        user,
        csrf_token,
        _back_to(back),
        lambda viewer: moderation.set_hidden(session, submission_id, viewer, hidden=False, now=now),
        f"Submission #{submission_id} is shown again.",
    )
