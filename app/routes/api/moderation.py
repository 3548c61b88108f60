"""Moderation and exports: every submission of a phase, re-runs, hiding, disqualification,
baseline entries, and the leaderboard and scores as CSV, Markdown and LaTeX."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile, status
from fastapi.responses import JSONResponse, Response

from app.deps import (
    ORGANIZER_ONLY,
    CurrentUser,
    DbId,
    IntakeDep,
    JobsDep,
    NowDep,
    OptionalUser,
    SessionDep,
)
from app.models import Split
from app.presenters import submission_dict
from app.routes.api.files import EXPORT_MEDIA_TYPES, attachment, documented
from app.routes.api.paging import PAGE_HEADERS, PageDep
from app.routes.conditional import PRIVATE, SHARED, etag_of, matches, not_modified, validators
from app.schema_examples.files import LEADERBOARD_FILES, SUBMISSIONS_CSV
from app.schemas import ModerationSubmissionOut, ParticipantOut, ReasonIn, SubmissionOut
from app.services import (
    board_snapshots,
    competitions,
    exports,
    leaderboard,
    moderation,
    phases,
    rescore,
    submissions,
)

router = APIRouter(tags=["moderation"])


@router.get(
    "/phases/{phase_id}/submissions",
    dependencies=ORGANIZER_ONLY,
    response_model=list[ModerationSubmissionOut],
    responses={200: {"headers": PAGE_HEADERS}},
)
def list_submissions(
    phase_id: DbId,
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    response: Response,
    participant: Annotated[str | None, Query(max_length=64)] = None,
    status_: Annotated[str | None, Query(alias="status")] = None,
    kind: Annotated[str | None, Query()] = None,
    hidden: Annotated[bool | None, Query()] = None,
    baseline: Annotated[bool | None, Query()] = None,
) -> list[ModerationSubmissionOut]:
    """Every submission of the phase, newest first, with both splits' scores (organizers)."""
    rows = moderation.list_submissions(
        session,
        phase_id,
        user,
        participant=participant,
        status=status_,
        kind=kind,
        hidden=hidden,
        baseline=baseline,
    )
    return [
        ModerationSubmissionOut.model_validate(row.to_dict()) for row in page.apply(rows, response)
    ]


def _moderation_out(
    session: SessionDep, submission_id: int, user: CurrentUser
) -> ModerationSubmissionOut:
    return ModerationSubmissionOut.model_validate(
        moderation.moderation_row(session, submission_id, user).to_dict()
    )


@router.post(
    "/submissions/{submission_id}/rerun",
    dependencies=ORGANIZER_ONLY,
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ModerationSubmissionOut,
)
def rerun(
    submission_id: DbId,
    session: SessionDep,
    jobs: JobsDep,
    user: CurrentUser,
    now: NowDep,
    after_commit: BackgroundTasks,
) -> ModerationSubmissionOut:
    """Queue a submission again, to be evaluated on the phase's current test set."""
    _, pending = rescore.rerun_submission(session, submission_id, user, now=now)
    after_commit.add_task(rescore.dispatch, jobs, pending)
    return _moderation_out(session, submission_id, user)


@router.post(
    "/submissions/{submission_id}/hide",
    dependencies=ORGANIZER_ONLY,
    response_model=ModerationSubmissionOut,
)
def hide(
    submission_id: DbId, body: ReasonIn, session: SessionDep, user: CurrentUser, now: NowDep
) -> ModerationSubmissionOut:
    """Take an entry off the leaderboard; the reason is kept in the audit log."""
    moderation.set_hidden(session, submission_id, user, hidden=True, reason=body.reason, now=now)
    return _moderation_out(session, submission_id, user)


@router.post(
    "/submissions/{submission_id}/unhide",
    dependencies=ORGANIZER_ONLY,
    response_model=ModerationSubmissionOut,
)
def unhide(
    submission_id: DbId,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    body: ReasonIn | None = None,
) -> ModerationSubmissionOut:
    """Put a hidden entry back on the leaderboard."""
    moderation.set_hidden(
        session, submission_id, user, hidden=False, reason=(body or ReasonIn()).reason, now=now
    )
    return _moderation_out(session, submission_id, user)


@router.get(
    "/competitions/{competition_id}/participants",
    dependencies=ORGANIZER_ONLY,
    response_model=list[ParticipantOut],
    responses={200: {"headers": PAGE_HEADERS}},
)
def list_participants(
    competition_id: DbId, session: SessionDep, user: CurrentUser, page: PageDep, response: Response
) -> list[ParticipantOut]:
    """Everyone who joined, with their submission counts and disqualifications."""
    joined = moderation.list_participants(session, competition_id, user)
    return [ParticipantOut.model_validate(p.to_dict()) for p in page.apply(joined, response)]


def _participant_out(
    session: SessionDep, competition_id: DbId, username: str, user: CurrentUser
) -> ParticipantOut:
    rows = moderation.list_participants(session, competition_id, user)
    found = next(p for p in rows if p.username == username.strip().lower())
    return ParticipantOut.model_validate(found.to_dict())


@router.post(
    "/competitions/{competition_id}/participants/{username}/disqualify",
    dependencies=ORGANIZER_ONLY,
    response_model=ParticipantOut,
)
def disqualify(
    competition_id: DbId,
    username: str,
    body: ReasonIn,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> ParticipantOut:
    """Disqualify a participant, with a reason: their entries leave every leaderboard."""
    moderation.disqualify(session, competition_id, user, username, reason=body.reason, now=now)
    return _participant_out(session, competition_id, username, user)


@router.post(
    "/competitions/{competition_id}/participants/{username}/requalify",
    dependencies=ORGANIZER_ONLY,
    response_model=ParticipantOut,
)
def requalify(
    competition_id: DbId,
    username: str,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    body: ReasonIn | None = None,
) -> ParticipantOut:
    """Lift a disqualification."""
    moderation.requalify(
        session, competition_id, user, username, reason=(body or ReasonIn()).reason, now=now
    )
    return _participant_out(session, competition_id, username, user)


@router.post(
    "/phases/{phase_id}/baselines",
    dependencies=ORGANIZER_ONLY,
    status_code=status.HTTP_201_CREATED,
    response_model=SubmissionOut,
)
def add_baseline(
    phase_id: DbId,
    file: Annotated[UploadFile, File(description="prediction file (.csv/.txt/.zip) or .onnx")],
    description: Annotated[str, Form(max_length=2000)],
    session: SessionDep,
    intake: IntakeDep,
    user: CurrentUser,
    now: NowDep,
    preset: Annotated[str, Form()] = "raw",
    output_scale: Annotated[float, Form()] = 1.0,
) -> JSONResponse:
    """Add an organizer baseline entry, shown as "Baseline: <description>" and in no quota."""
    accepted = moderation.add_baseline(
        session,
        intake.settings,
        phase_id=phase_id,
        actor=user,
        upload=submissions.Upload(file.filename or "predictions.csv", file.file),
        description=description,
        preset=preset,
        output_scale=output_scale,
        now=now,
    )
    submission_id = intake.start(accepted)
    submission, phase, _ = submissions.get_visible_submission(session, submission_id, user)
    body = submission_dict(session, submission, phase, organizer=True, now=now)
    return JSONResponse(SubmissionOut.model_validate(body).model_dump(mode="json"), status_code=201)


# --- Exports --------------------------------------------------------------------------------


@router.get(
    "/phases/{phase_id}/exports/leaderboard.{fmt}",
    response_class=Response,
    responses=documented(LEADERBOARD_FILES),
)
def export_leaderboard(
    phase_id: DbId,
    request: Request,
    fmt: Literal["csv", "md", "tex"],
    session: SessionDep,
    user: OptionalUser,
    now: NowDep,
    split: Annotated[Literal["public", "private"], Query()] = "public",
) -> Response:
    """The leaderboard as CSV, Markdown or LaTeX (best values in bold); same visibility as the
    leaderboard itself, so the private one only for organizers until the reveal."""
    chosen = Split(split)
    phase = phases.require_leaderboard_visible(session, phase_id, user, chosen, now=now)
    served = board_snapshots.materialised(session, phase, split=chosen)
    board = served.board
    content = served.memo(f"export:{fmt}", lambda: exports.leaderboard_export(board, phase, fmt))
    etag = served.memo(f"export-etag:{fmt}", lambda: etag_of(content.encode(), phase.name))
    cache = SHARED if leaderboard.is_public(phase, board.split, now=now) else PRIVATE
    if matches(request, etag):
        return not_modified(etag, cache)
    response = attachment(
        content, EXPORT_MEDIA_TYPES[fmt], f"leaderboard-phase{phase.id}-{board.split.value}.{fmt}"
    )
    response.headers.update(validators(etag, cache))
    return response


@router.get(
    "/phases/{phase_id}/exports/submissions.csv",
    dependencies=ORGANIZER_ONLY,
    response_class=Response,
    responses=documented(SUBMISSIONS_CSV),
)
def export_submissions(phase_id: DbId, session: SessionDep, user: CurrentUser) -> Response:
    """Every submission's scores on each split with per-group MAEs and sizes (organizers)."""
    phase = competitions.get_phase(session, phase_id)
    competitions.require_organizer(session, phase.competition_id, user)
    return attachment(
        exports.submissions_csv(session, phase),
        EXPORT_MEDIA_TYPES["csv"],
        f"submissions-phase{phase.id}.csv",
    )
