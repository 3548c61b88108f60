"""The submit boundary: commit the request's accepted submission, then evaluate it.

A small prediction file is scored within the request (the participant sees the result at
once); anything else is dispatched as a job. Both need the submission committed first: the
job claims it in its own transaction, and the participant's lock must not be held through an
evaluation.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.errors import InvalidSubmissionFile
from app.jobs import board_versions, state
from app.jobs.deliveries import notify_settled
from app.jobs.dispatch import JobDispatcher
from app.jobs.execute import record, run_submission, settled
from app.models import Submission, SubmissionStatus
from app.services import intervals
from app.services.evaluation import Upfront
from app.services.submit import Accepted, accept

INLINE_WORKER = "web (scored within the upload)"
FILE_REJECTED = "the file was rejected"
WRITER_WAIT_SECONDS = 2.0


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
        return self._start(accepted, WriterTurn(None)).submission_id

    def _start(self, accepted: Accepted, turn: WriterTurn) -> Accepted:
        submission_id = accepted.submission_id
        if accepted.upfront is not None:
            self._record_upfront(accepted, accepted.upfront, turn)
            return accepted
        self.session.commit()
        turn.release()
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
        return accepted

    def _record_upfront(self, accepted: Accepted, upfront: Upfront, turn: WriterTurn) -> None:
        """Claim and record a file scored before its insert, in the request's transaction:
        one commit, and no other process ever sees it queued."""
        started = time.perf_counter()
        submission, testset = accepted.submission, accepted.phase.testset
        assert testset is not None and testset.id == submission.testset_id
        submission_id = submission.id
        if upfront.aside is not None:
            # Written before the writer's turn; renamed into place first, so nothing after
            # can leave them aside.
            intervals.place_predictions(self.settings, submission_id, upfront.aside)
        token = secrets.token_hex(16)
        worker = INLINE_WORKER
        lease = self.settings.job_lease_seconds
        claimed = state.claim(
            self.session, submission_id, token=token, worker=worker, lease_seconds=lease
        )
        assert claimed, "a submission inserted by this transaction is queued"
        status = record(
            self.session,
            self.settings,
            submission,
            testset,
            token,
            upfront.outcome,
            worker,
            first_run=True,
        )
        assert status is not None
        self.session.commit()
        turn.release()
        # Read again (by the webhook payload and the response): the row the conditional
        # UPDATEs changed, which they do not all carry into the loaded object.
        self.session.expire(submission)
        settled(
            self.db,
            self.settings,
            submission_id,
            submission.kind,
            status,
            upfront.outcome,
            started,
            session=self.session,
        )
        if status is SubmissionStatus.FAILED:
            error = self.session.scalar(
                select(Submission.error).where(Submission.id == submission_id)
            )
            raise InvalidSubmissionFile(error or FILE_REJECTED, submission_id=submission_id)

    def submit(self, **fields: Any) -> Accepted:
        """Accept a participant's submission (``fields``: the keywords of
        ``app.services.submit.accept``), commit it, then score it inline or dispatch it."""
        turn = WriterTurn(self.db, self.session)
        try:
            # Nothing reads a board between the insert and the commit: one version bump.
            with board_versions.batched(self.session):
                accepted = accept(self.session, self.settings, before_write=turn.take, **fields)
                return self._start(accepted, turn)
        finally:
            if turn.held:
                # Refused after its first write (e.g. over quota): give the database back first.
                self.session.rollback()
                turn.release()


class WriterTurn:
    """On SQLite, one request of this process at a time between its first write and commit.

    SQLite lets one writer in and makes the others retry after sleeps that grow to 100 ms;
    queued on a lock here, the next upload starts the moment the last one commits. Waiting
    is bounded (``WRITER_WAIT_SECONDS``), then the request goes on under SQLite's own
    locking, so a session that wrote earlier than expected can never deadlock on it.
    """

    _locks: ClassVar[dict[str, threading.Lock]] = {}

    def __init__(self, db: Database | None, session: Session | None = None) -> None:
        sqlite = db is not None and session is not None and db.is_sqlite
        key = db.url if db is not None else ""
        self._lock = self._locks.setdefault(key, threading.Lock()) if sqlite else None
        self._session = session
        self.held = False

    def take(self) -> None:
        if self._lock is None or self.held or self._session is None:
            return
        # A session that has written already (an API token's last use) holds SQLite's lock:
        # waiting here for a request that waits for SQLite would only stall both.
        if not self._session.connection().connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
            self.held = self._lock.acquire(timeout=WRITER_WAIT_SECONDS)

    def release(self) -> None:
        if self._lock is not None and self.held:
            self.held = False
            self._lock.release()
