"""The embedded job runner: threads of the web process, fed from the submissions table.

The database is the queue, so nothing is lost across restarts: at start-up every job left
running belonged to this server's previous life and is queued again at once (but those a
live sibling uvicorn worker process of this host holds). While it runs, every
``sweep_interval_seconds`` it also takes back the jobs whose lease expired (a sibling uvicorn
worker process that was killed; a job's holder renews its lease while it works).
Jobs run in the fair order (round-robin across participants), as in the scale-out mode.
"""

from __future__ import annotations

import logging
import threading
import time

from app.config import Settings
from app.db import Database
from app.jobs import execute, state
from app.jobs.deliveries import DeliveryLoop
from app.jobs.leases import held_by_live_sibling, process_name
from app.jobs.sweep import sweep
from app.models import SubmissionKind
from app.phase_notifications import PhaseNoticeLoop
from app.services import interval_process

log = logging.getLogger("fairboard.jobs")

PHASE_POLL_SECONDS = 1.0
"""How soon a requested leaderboard recomputation starts in the embedded runner."""


def recover_interrupted(db: Database) -> int:
    """Queue again the jobs a crash left running (the embedded runner owns them all), but
    those a sibling uvicorn worker process still runs (a restarted worker must not take its
    siblings' work; a dead one's jobs come back here, or by the lease sweep)."""
    with db.transaction() as session:
        released = state.release_all_running(
            session, actor=process_name("web"), spare=held_by_live_sibling
        )
    return len(released)


class InProcessJobs:
    """Worker threads inside the web process.

    Model submissions run at most ``model_workers`` at once (each in its own sandboxed child
    process); prediction files too large to score inline use ``scoring_workers`` threads.
    """

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._wake = {kind: threading.Condition() for kind in SubmissionKind}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._deliveries = DeliveryLoop(db, settings)
        self._phase_mail = PhaseNoticeLoop(db, settings)

    def start(self) -> None:
        # The leaderboard job's bootstrap intervals would take the requests' cores and GIL.
        interval_process.isolate()
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
                    args=(kind, f"{process_name('web')}/{kind.value}-{index}"),
                    name=f"fairboard-{kind.value}-{index}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)
        self._deliveries.start()
        self._phase_mail.start()
        thread = threading.Thread(target=self._phases, name="fairboard-phases", daemon=True)
        thread.start()
        self._threads.append(thread)

    def dispatch(self, submission_id: int, kind: SubmissionKind) -> None:
        self._wake_one(kind)

    def shutdown(self) -> None:
        self._stopping.set()
        self._wake_all()
        for thread in self._threads:
            thread.join(timeout=10)
        self._deliveries.stop()
        self._phase_mail.stop()

    def _phases(self) -> None:
        """Leaderboard recomputations (rank intervals, history), polled: requests are rows;
        and the sweep of expired leases, every ``sweep_interval_seconds``."""
        next_sweep = time.monotonic() + self.settings.sweep_interval_seconds
        while not self._stopping.is_set():
            try:
                execute.run_pending_phase_jobs(self.db, self.settings)
            except Exception:
                log.exception("leaderboard recomputation failed; retrying shortly")
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + self.settings.sweep_interval_seconds
                self._sweep()
            self._stopping.wait(min(PHASE_POLL_SECONDS, self.settings.sweep_interval_seconds))

    def _sweep(self) -> None:
        """The scale-out mode's sweep, with this process's threads as the workers to wake."""
        try:
            sweep(self.db, self._wake_one, pending=None, actor=process_name("web-sweeper"))
        except Exception:
            log.exception("the lease sweep failed; it runs again in the next interval")

    def _wake_one(self, kind: SubmissionKind) -> None:
        with self._wake[kind]:
            self._wake[kind].notify()

    def _wake_all(self) -> None:
        for condition in self._wake.values():
            with condition:
                condition.notify_all()

    def _work(self, kind: SubmissionKind, worker: str) -> None:
        while not self._stopping.is_set():
            try:
                ran = execute.run_next(
                    self.db, self.settings, kind, worker=worker, stopping=self._stopping.is_set
                )
            except Exception:
                log.exception("job runner (%s) failed; retrying shortly", kind.value)
                ran = None
            if ran is None:
                with self._wake[kind]:
                    self._wake[kind].wait(timeout=2.0)
