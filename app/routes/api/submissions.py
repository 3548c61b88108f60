"""Submitting prediction files or models, and reading one's submissions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse

from app.deps import CurrentUser, DatabaseDep, DbId, JobsDep, NowDep, SessionDep, SettingsDep
from app.downloads import stored_file_response
from app.errors import NotFound
from app.presenters import submission_dict
from app.schemas import SubmissionOut, SubmissionPatch
from app.services import competitions, submission_metadata, submissions
from app.services.submit import submit_and_dispatch

router = APIRouter(tags=["submissions"])


@router.post(
    "/phases/{phase_id}/submissions",
    status_code=status.HTTP_201_CREATED,
    response_model=SubmissionOut,
    responses={422: {"description": "the file was rejected; the failed record is returned"}},
)
def create_submission(
    phase_id: DbId,
    file: Annotated[UploadFile, File(description="prediction file (.csv/.txt/.zip) or .onnx")],
    session: SessionDep,
    db: DatabaseDep,
    settings: SettingsDep,
    jobs: JobsDep,
    user: CurrentUser,
    now: NowDep,
    description: Annotated[str, Form(max_length=2000)] = "",
    preset: Annotated[str, Form()] = "raw",
    output_scale: Annotated[float, Form()] = 1.0,
    metadata: Annotated[
        str, Form(max_length=20_000, description='a JSON object, e.g. {"model": "resnet50"}')
    ] = "",
) -> JSONResponse:
    """Submit a prediction file (scored at once when small) or an ONNX model (queued)."""
    pairs = submission_metadata.parse_field(metadata)
    submission_id = submit_and_dispatch(
        session,
        db,
        settings,
        jobs,
        phase_id=phase_id,
        user=user,
        now=now,
        upload=submissions.Upload(file.filename or "predictions.csv", file.file),
        description=description,
        preset=preset,
        output_scale=output_scale,
        metadata=pairs,
    )
    body = _submission_body(session, submission_id, user, now)
    return JSONResponse(SubmissionOut.model_validate(body).model_dump(mode="json"), status_code=201)


def _submission_body(
    session: SessionDep, submission_id: DbId, user: CurrentUser, now: NowDep
) -> dict[str, object]:
    submission, phase, organizer = submissions.get_visible_submission(session, submission_id, user)
    return submission_dict(
        session, submission, phase, organizer=organizer, now=now, with_timeline=True
    )


@router.get("/submissions/{submission_id}", response_model=SubmissionOut)
def get_submission(
    submission_id: DbId, session: SessionDep, user: CurrentUser, now: NowDep
) -> SubmissionOut:
    """One of the caller's submissions (organizers: any in their competitions)."""
    return SubmissionOut.model_validate(_submission_body(session, submission_id, user, now))


@router.patch("/submissions/{submission_id}", response_model=SubmissionOut)
def update_submission(
    submission_id: DbId,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    body: SubmissionPatch | None = None,
) -> SubmissionOut:
    """Replace the metadata of one of the caller's submissions (its submitter only)."""
    submission, _phase, _ = submissions.get_visible_submission(session, submission_id, user)
    if body is not None and body.metadata is not None:
        submission_metadata.update(session, submission, user, body.metadata)
    return SubmissionOut.model_validate(_submission_body(session, submission_id, user, now))


@router.get("/phases/{phase_id}/submissions/mine", response_model=list[SubmissionOut])
def my_submissions(
    phase_id: DbId, session: SessionDep, user: CurrentUser, now: NowDep
) -> list[SubmissionOut]:
    """The caller's submissions in a phase, newest first."""
    phase = competitions.get_phase(session, phase_id)
    organizer = competitions.is_organizer(session, phase.competition_id, user)
    return [
        SubmissionOut.model_validate(
            submission_dict(session, s, phase, organizer=organizer, now=now)
        )
        for s in submissions.list_for_participant(session, phase, user)
    ]


@router.post("/submissions/{submission_id}/choose", response_model=SubmissionOut)
def choose(
    submission_id: DbId, session: SessionDep, user: CurrentUser, now: NowDep
) -> SubmissionOut:
    """Make this finished submission the caller's leaderboard entry (`chosen` phases)."""
    submission, _phase, _ = submissions.get_visible_submission(session, submission_id, user)
    submissions.choose_entry(session, submission, user)
    session.flush()
    session.refresh(submission)
    return SubmissionOut.model_validate(_submission_body(session, submission_id, user, now))


@router.get("/submissions/{submission_id}/file", response_class=FileResponse)
def download_file(
    submission_id: DbId, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> FileResponse:
    """The file as it was uploaded (its owner and the organizers only)."""
    submission, _phase, _ = submissions.get_visible_submission(session, submission_id, user)
    path = submissions.stored_file(settings, submission)
    if path is None or not path.exists():
        raise NotFound(f"submission {submission_id} has no stored file")
    return stored_file_response(path, submission.filename)
