"""Leases: a claimed job is its holder's only while the holder keeps renewing it.

A thread of the holder's process renews the lease every ``job_heartbeat_seconds``, whatever
the job is doing (parsing, waiting for the inference child, scoring). When the process dies
the renewals stop, and one lease period later the sweep takes the job back.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from types import TracebackType

from app.config import Settings
from app.db import Database
from app.jobs import state

log = logging.getLogger("fairboard.jobs")

HEARTBEAT_TOO_SLOW = (
    "FAIRBOARD_JOB_HEARTBEAT_SECONDS ({heartbeat:g}) must be at most half of "
    "FAIRBOARD_JOB_LEASE_SECONDS ({lease:g}), or a live job could lose its lease"
)
SWEEP_TOO_SLOW = (
    "FAIRBOARD_SWEEP_INTERVAL_SECONDS ({sweep:g}) must be at most FAIRBOARD_JOB_LEASE_SECONDS "
    "({lease:g}), or a dead worker's job waits longer than one lease period"
)
VISIBILITY_TOO_SHORT = (
    "FAIRBOARD_BROKER_VISIBILITY_TIMEOUT_SECONDS ({visibility:g}) must be at least "
    "FAIRBOARD_JOB_LEASE_SECONDS ({lease:g}): the broker would hand a wake-up to a second "
    "worker while the first still holds a live job"
)


def settings_problems(settings: Settings) -> list[str]:
    """Lease, heartbeat, sweep and broker settings that contradict each other."""
    lease = settings.job_lease_seconds
    problems = []
    if settings.job_heartbeat_seconds * 2 > lease:
        problems.append(
            HEARTBEAT_TOO_SLOW.format(heartbeat=settings.job_heartbeat_seconds, lease=lease)
        )
    if settings.broker_url:
        if settings.sweep_interval_seconds > lease:
            problems.append(
                SWEEP_TOO_SLOW.format(sweep=settings.sweep_interval_seconds, lease=lease)
            )
        if settings.broker_visibility_timeout_seconds < lease:
            problems.append(
                VISIBILITY_TOO_SHORT.format(
                    visibility=settings.broker_visibility_timeout_seconds, lease=lease
                )
            )
    return problems


def check_settings(settings: Settings) -> None:
    """Refuse to start with inconsistent lease settings."""
    problems = settings_problems(settings)
    if problems:
        raise SystemExit("; ".join(problems))


def process_name(role: str) -> str:
    """This process as the timeline names it: ``role@host:pid``."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}"


HOLDER = re.compile(r"[^@/]+@(?P<host>[^:/]+):(?P<pid>[0-9]{1,10})(/.*)?")


def held_by_live_sibling(holder: str) -> bool:
    """Whether ``holder`` (a job's worker, :func:`process_name` and a thread's name) is another
    process of this host that is still running: a uvicorn worker beside this one."""
    found = HOLDER.fullmatch(holder)
    if found is None or found["host"] != socket.gethostname():
        return False
    pid = int(found["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # alive, or not a pid to signal: left to its lease
    return True


class Heartbeat:
    """Renews one job's lease from a thread while the ``with`` block runs.

    ``lost`` is set once a renewal finds the job is no longer this holder's.
    """

    def __init__(self, db: Database, settings: Settings, submission_id: int, token: str) -> None:
        self.db = db
        self.settings = settings
        self.submission_id = submission_id
        self.token = token
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"fairboard-lease-{submission_id}", daemon=True
        )

    def renew(self, progress: tuple[int, int] | None = None) -> bool:
        """Extend the lease now (with progress, when given)."""
        with self.db.transaction() as session:
            held = state.renew(
                session,
                self.submission_id,
                self.token,
                lease_seconds=self.settings.job_lease_seconds,
                progress=progress,
            )
        if not held and not self.lost.is_set():
            log.warning("submission %s: the lease was taken over", self.submission_id)
            self.lost.set()
        return held

    def report(self, done: int, total: int) -> None:
        """The progress callback evaluation is given: progress renews the lease too."""
        self.renew((done, total))

    def _run(self) -> None:
        while not self._stop.wait(self.settings.job_heartbeat_seconds):
            try:
                self.renew()
            except Exception:
                log.exception("submission %s: could not renew the lease", self.submission_id)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
