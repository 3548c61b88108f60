"""The submit use case across its transaction boundaries: accept, commit, then evaluate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.errors import InvalidSubmissionFile
from app.jobs.dispatch import JobDispatcher
from app.jobs.execute import run_submission
from app.models import SubmissionKind, SubmissionStatus, User
from app.services import competitions, submissions
from app.services.model_runs import check_uploaded_model

INLINE_WORKER = "web (scored within the upload)"


def submit_and_dispatch(
    session: Session,
    db: Database,
    settings: Settings,
    jobs: JobDispatcher,
    *,
    phase_id: int,
    user: User,
    upload: submissions.Upload,
    now: datetime,
    description: str = "",
    preset: str = "raw",
    output_scale: float = 1.0,
    as_baseline: bool = False,
    metadata: dict[str, str] | None = None,
) -> int:
    """Accept a submission, then score it inline when it is a small prediction file.

    The accepted submission is committed before evaluation starts, so the participant's lock
    is held only for the quota check and the insert (an organizer's baseline, ``as_baseline``,
    takes no lock and counts in no quota). A file rejected inline raises
    ``InvalidSubmissionFile`` after its failed record has been stored.
    """
    phase = competitions.get_phase(session, phase_id)
    submission = submissions.create_submission(
        session,
        settings,
        phase=phase,
        user=user,
        upload=upload,
        description=description,
        preset=preset,
        output_scale=output_scale,
        now=now,
        as_baseline=as_baseline,
        metadata=metadata,
    )
    if submission.kind is SubmissionKind.MODEL:
        problem = check_uploaded_model(settings, submission, phase)
        if problem is not None:
            submissions.mark_rejected(session, settings, submission, problem, now=now)
            session.commit()
            raise InvalidSubmissionFile(problem, submission_id=submission.id)
    session.commit()
    submission_id, kind = submission.id, submission.kind
    if (
        kind is SubmissionKind.PREDICTIONS
        and submission.size_bytes <= settings.inline_scoring_max_bytes
    ):
        outcome = run_submission(db, settings, submission_id, worker=INLINE_WORKER)
        if outcome is SubmissionStatus.FAILED:
            session.refresh(submission)
            raise InvalidSubmissionFile(
                submission.error or "the file was rejected", submission_id=submission_id
            )
    else:
        jobs.dispatch(submission_id, kind)
    session.expire_all()
    return submission_id
