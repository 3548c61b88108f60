"""The submit boundary: commit the request's accepted submission, then evaluate it.

A small prediction file is scored within the request (the participant sees the result at
once); anything else is dispatched as a job. Both need the submission committed first: the
job claims it in its own transaction, and the participant's lock must not be held through an
evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.errors import InvalidSubmissionFile
from app.jobs.deliveries import notify_settled
from app.jobs.dispatch import JobDispatcher
from app.jobs.execute import run_submission
from app.models import Submission, SubmissionStatus
from app.services.submit import Accepted, accept

INLINE_WORKER = "web (scored within the upload)"
FILE_REJECTED = "the file was rejected"


@dataclass(frozen=True)
class Intake:
    """The request's session, with what evaluating a submission after its commit needs."""

    session: Session
    db: Database
    settings: Settings
    jobs: JobDispatcher

    def start(self, accepted: Accepted) -> int:
        """Commit the request's work, then refuse, score inline or dispatch the submission.

        A refused model or a file rejected inline raises ``InvalidSubmissionFile`` after its
        failed record has been committed.
        """
        self.session.commit()
        submission_id = accepted.submission_id
        if accepted.problem is not None:
            notify_settled(self.db, submission_id)
            raise InvalidSubmissionFile(accepted.problem, submission_id=submission_id)
        if accepted.inline:
            outcome = run_submission(self.db, self.settings, submission_id, worker=INLINE_WORKER)
            if outcome is SubmissionStatus.FAILED:
                submission = self.session.get(Submission, submission_id)
                assert submission is not None
                self.session.refresh(submission)
                raise InvalidSubmissionFile(
                    submission.error or FILE_REJECTED, submission_id=submission_id
                )
        else:
            self.jobs.dispatch(submission_id, accepted.kind)
        self.session.expire_all()
        return submission_id

    def submit(self, **fields: Any) -> int:
        """Accept a participant's submission (``fields``: the keywords of
        ``app.services.submit.accept``), commit it, then score it inline or dispatch it."""
        return self.start(accept(self.session, self.settings, **fields))
