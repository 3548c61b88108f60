"""Submitting prediction files or models, and reading one's submissions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse, Response

from app.deps import (
    CurrentUser,
    DbId,
    IntakeDep,
    NowDep,
    SessionDep,
    SettingsDep,
)
from app.downloads import stored_file_response
from app.errors import NotFound
from app.presenters import submission_dict
from app.routes.api.paging import PAGE_HEADERS, QUOTA_HEADERS, PageDep, quota_headers
from app.schemas import SubmissionOut, SubmissionPatch
from app.services import competitions, submission_metadata, submissions, teams

router = APIRouter(tags=["submissions"])

NO_STORED_FILE = "submission {id} has no stored file"


@router.post(
    "/phases/{phase_id}/submissions",
    status_code=status.HTTP_201_CREATED,
    response_model=SubmissionOut,
    summary="Submit predictions or a model",
    responses={
        201: {"headers": QUOTA_HEADERS},
        422: {"description": "the file was rejected; the failed record is returned"},
        429: {
            "description": "the daily or total quota is used up (code "
            "`submission_limit_reached`), or the caller has `max_concurrent_submissions_per_user` "
            "submissions in progress already (code `submissions_in_progress`): nothing was "
            "stored; send it again after `Retry-After` seconds",
            "headers": QUOTA_HEADERS,
        },
        503: {
            "description": "too many submissions in progress (code `server_busy`): nothing "
            "was stored; send it again after `Retry-After` seconds"
        },
    },
)
def create_submission(
    phase_id: DbId,
    file: Annotated[UploadFile, File(description="prediction file (.csv/.txt/.zip) or .onnx")],
    session: SessionDep,
    intake: IntakeDep,
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
    accepted = intake.submit(
        phase_id=phase_id,
        user=user,
        now=now,
        upload=submissions.Upload(file.filename or "predictions.csv", file.file),
        description=description,
        preset=preset,
        output_scale=output_scale,
        metadata=pairs,
    )
    body = _submission_body(session, accepted.submission_id, user, now)
    response = JSONResponse(
        SubmissionOut.model_validate(body).model_dump(mode="json"), status_code=201
    )
    if accepted.quota is not None:
        quota_headers(accepted.quota, response)  # counted under the competitor's lock
    else:
        _quota(session, phase_id, user, now, response)
    return response


def _quota(
    session: SessionDep, phase_id: int, user: CurrentUser, now: NowDep, response: Response
) -> None:
    phase = competitions.get_phase(session, phase_id)
    competition = competitions.get_competition(session, phase.competition_id)
    quota_headers(teams.quota_for(session, competition, phase, user.id, now), response)


def _submission_body(
    session: SessionDep, submission_id: DbId, user: CurrentUser, now: NowDep
) -> dict[str, object]:
    submission, phase, organizer = submissions.get_visible_submission(session, submission_id, user)
    return submission_dict(
        session, submission, phase, organizer=organizer, now=now, with_timeline=True
    )


@router.get(
    "/submissions/{submission_id}",
    response_model=SubmissionOut,
    summary="One submission, with its progress and timeline",
    responses={200: {"headers": QUOTA_HEADERS}},
)
def get_submission(
    submission_id: DbId, session: SessionDep, user: CurrentUser, now: NowDep, response: Response
) -> SubmissionOut:
    """One of the caller's submissions (organizers: any in their competitions)."""
    body = SubmissionOut.model_validate(_submission_body(session, submission_id, user, now))
    _quota(session, body.phase_id, user, now, response)
    return body


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


@router.get(
    "/phases/{phase_id}/submissions/mine",
    response_model=list[SubmissionOut],
    summary="Your submissions in a phase",
    responses={200: {"headers": PAGE_HEADERS | QUOTA_HEADERS}},
)
def my_submissions(
    phase_id: DbId,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    page: PageDep,
    response: Response,
) -> list[SubmissionOut]:
    """The caller's submissions in a phase, newest first."""
    phase = competitions.get_phase(session, phase_id)
    organizer = competitions.is_organizer(session, phase.competition_id, user)
    mine = page.apply(submissions.list_for_participant(session, phase, user), response)
    quota_headers(competitions.quota(session, phase, user.id, now), response)
    return [
        SubmissionOut.model_validate(
            submission_dict(session, s, phase, organizer=organizer, now=now)
        )
        for s in mine
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
        raise NotFound(NO_STORED_FILE.format(id=submission_id))
    return stored_file_response(path, submission.filename)
