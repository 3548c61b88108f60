"""How a committed job reaches a runner: one interface, two modes."""

from __future__ import annotations

from typing import Protocol

from app.config import Settings
from app.db import Database
from app.models import SubmissionKind


class JobDispatcher(Protocol):
    def start(self) -> None: ...
    def dispatch(self, submission_id: int, kind: SubmissionKind) -> None: ...
    def shutdown(self) -> None: ...


def make_dispatcher(db: Database, settings: Settings) -> JobDispatcher:
    """In-process unless a broker is configured; refuses inconsistent lease settings."""
    from app.jobs.leases import check_settings

    check_settings(settings)
    if settings.broker_url:
        from app.jobs.worker import CeleryJobs

        return CeleryJobs(db, settings)
    from app.jobs.runner import InProcessJobs

    return InProcessJobs(db, settings)
