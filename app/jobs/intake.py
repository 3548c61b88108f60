"""The submit boundary: commit the request's accepted submission, then evaluate it.

A small prediction file is scored within the request (the participant sees the result at
once); anything else is dispatched as a job. Both need the submission committed first: the
job claims it in its own transaction, and the participant's lock must not be held through an
evaluation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.errors import InvalidSubmissionFile
from app.jobs.dispatch import JobDispatcher
from app.jobs.execute import run_submission
from app.models import Submission, SubmissionStatus, User
from app.services import submissions
from app.services.submit import Accepted, accept

INLINE_WORKER = "web (scored within the upload)"
FILE_REJECTED = "the file was rejected"


def start(
    session: Session, db: Database, settings: Settings, jobs: JobDispatcher, accepted: Accepted
) -> int:
    """Commit the request's work, then refuse, score inline or dispatch the submission.

    A refused model or a file rejected inline raises ``InvalidSubmissionFile`` after its
    failed record has been committed.
    """
    session.commit()
    submission_id = accepted.submission_id
    if accepted.problem is not None:
        raise InvalidSubmissionFile(accepted.problem, submission_id=submission_id)
    if accepted.inline:
        outcome = run_submission(db, settings, submission_id, worker=INLINE_WORKER)
        if outcome is SubmissionStatus.FAILED:
            submission = session.get(Submission, submission_id)
            assert submission is not None
            session.refresh(submission)
            raise InvalidSubmissionFile(
                submission.error or FILE_REJECTED, submission_id=submission_id
            )
    else:
        jobs.dispatch(submission_id, accepted.kind)
    session.expire_all()
    return submission_id


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
) -> int:
    """Accept a participant's submission, commit it, then score it inline or dispatch it."""
    accepted = accept(
        session,
        settings,
        phase_id=phase_id,
        user=user,
        upload=upload,
        now=now,
        description=description,
        preset=preset,
        output_scale=output_scale,
    )
    return start(session, db, settings, jobs, accepted)
