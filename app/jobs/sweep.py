"""The sweep of the scale-out mode: take back jobs whose lease expired, wake workers for
queued jobs that no broker message will announce.

Broker messages are wake-ups, not jobs: a worker woken for a kind runs the next job of that
kind in the fair order. So the sweep needs only counts: it sends one wake-up per queued job
beyond the messages already waiting in that kind's queue (a spare wake-up costs a worker a
look at an empty queue; a missing one would leave a job waiting).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from app.db import Database, utcnow
from app.jobs import state
from app.models import Submission, SubmissionKind, SubmissionStatus

log = logging.getLogger("fairboard.sweep")

WakeUp = Callable[[SubmissionKind], None]


@dataclass(frozen=True)
class SweepReport:
    requeued: list[int]
    """Running with an expired lease: queued again (or failed after too many interruptions)."""
    woken: dict[SubmissionKind, int]
    """Wake-ups sent per kind for queued jobs no message announced."""


def sweep(
    db: Database,
    wake_up: WakeUp,
    *,
    pending: Mapping[SubmissionKind, int] | None,
    actor: str,
    now: datetime | None = None,
) -> SweepReport:
    """Take back expired leases, then wake workers for the queued jobs left unannounced.

    ``pending``: messages waiting per kind in the broker (None when unknown: then one wake-up
    per queued job is sent, which costs only spare wake-ups).
    """
    now = now or utcnow()
    with db.transaction() as session:
        requeued = state.release_expired(session, actor=actor, now=now)
    for submission_id in requeued:
        log.warning("submission %s: its lease expired; taken back", submission_id)
    with db.sessionmaker() as session:
        rows = session.execute(
            select(Submission.kind, func.count())
            .where(Submission.status == SubmissionStatus.QUEUED)
            .group_by(Submission.kind)
        ).all()
    woken: dict[SubmissionKind, int] = {}
    for kind, count in rows:
        missing = int(count) - (pending or {}).get(kind, 0)
        for _ in range(max(0, missing)):
            wake_up(kind)
        if missing > 0:
            woken[kind] = missing
    if woken:
        log.warning("sent wake-ups for queued jobs no message announced: %s", woken)
    return SweepReport(requeued=requeued, woken=woken)
