"""How evaluation work is dispatched and run.

One interface, two modes: the embedded default runs jobs on threads of the web process (the
database is the queue, so nothing is lost across restarts); with ``FAIRBOARD_BROKER_URL`` set,
jobs go to Celery workers (``app.worker``). Both run ``services.evaluation.run_submission``.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.models import Submission, SubmissionKind, SubmissionStatus
from app.services.evaluation import run_submission

log = logging.getLogger("fairboard.jobs")


def fair_queue_order(session: Session, kind: SubmissionKind) -> list[int]:
    """Queued submissions of a kind in the order they will run.

    Arrival order, fair across participants: everyone's first queued job comes before anyone's
    second, and so on, so one participant's burst cannot starve the others.
    """
    turn = (
        func.row_number()
        .over(partition_by=Submission.user_id, order_by=(Submission.created_at, Submission.id))
        .label("turn")
    )
    queued = (
        select(Submission.id, Submission.created_at, turn)
        .where(Submission.status == SubmissionStatus.QUEUED, Submission.kind == kind)
        .subquery()
    )
    return list(
        session.scalars(
            select(queued.c.id).order_by(queued.c.turn, queued.c.created_at, queued.c.id)
        )
    )


class JobDispatcher(Protocol):
    def start(self) -> None: ...
    def dispatch(self, submission_id: int, kind: SubmissionKind) -> None: ...
    def shutdown(self) -> None: ...


class InProcessJobs:
    """Worker threads inside the web process, fed from the submissions table.

    Model submissions run at most ``model_workers`` at once (each in its own sandboxed child
    process); prediction files too large to score inline use ``scoring_workers`` threads.
    """

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._wake = {kind: threading.Condition() for kind in SubmissionKind}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        recovered = recover_interrupted(self.db)
        if recovered:
            log.info("re-queued %d submission(s) interrupted by a restart", recovered)
        counts = {
            SubmissionKind.MODEL: self.settings.model_workers,
            SubmissionKind.PREDICTIONS: self.settings.scoring_workers,
        }
        for kind, count in counts.items():
            for index in range(count):
                thread = threading.Thread(
                    target=self._work,
                    args=(kind,),
                    name=f"fairboard-{kind.value}-{index}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)

    def dispatch(self, submission_id: int, kind: SubmissionKind) -> None:
        with self._wake[kind]:
            self._wake[kind].notify()

    def shutdown(self) -> None:
        self._stopping.set()
        for condition in self._wake.values():
            with condition:
                condition.notify_all()
        for thread in self._threads:
            thread.join(timeout=10)

    def _work(self, kind: SubmissionKind) -> None:
        while not self._stopping.is_set():
            try:
                ran = self._run_next(kind)
            except Exception:
                log.exception("job runner (%s) failed; retrying shortly", kind.value)
                ran = False
            if not ran:
                with self._wake[kind]:
                    self._wake[kind].wait(timeout=2.0)

    def _run_next(self, kind: SubmissionKind) -> bool:
        with self.db.sessionmaker() as session:
            order = fair_queue_order(session, kind)
        for submission_id in order:
            if self._stopping.is_set():
                return False
            if run_submission(self.db, self.settings, submission_id) is not None:
                return True
        return False


def recover_interrupted(db: Database) -> int:
    """Re-queue submissions left running by a crash (the embedded runner owns them all)."""
    with db.transaction() as session:
        result = session.execute(
            update(Submission)
            .where(Submission.status == SubmissionStatus.RUNNING)
            .values(status=SubmissionStatus.QUEUED, job_token=None, progress_done=0)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


def make_dispatcher(db: Database, settings: Settings) -> JobDispatcher:
    """In-process unless a broker is configured."""
    if settings.broker_url:
        from app.worker import CeleryJobs

        return CeleryJobs(db, settings)
    return InProcessJobs(db, settings)
