"""Leaderboard recomputations: one coalesced job per phase, run in the background.

A change of a phase's leaderboard (a finished score, hide/unhide, disqualification, rescore,
reveal, a settings change) calls :func:`request` inside the transaction that made the change.
Requests only raise ``phase_jobs.requested``, so any number of them leave one pending run per
phase. Runners (a thread of the embedded runner, the sweeper thread of each Celery worker)
call ``app.jobs.execute.run_pending_phase_jobs``: a run claims the phase with a token and a
lease (one runner at a time; a runner that died is replaced when its lease ends), recomputes
score intervals, rank intervals and positions (``app.services.standings_job``), and records
the request count it saw as done, so a change made while it ran leaves the phase pending
again. Never run from a page view. This module is the queue only: models and the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.orm import Session

from app.db import upsert_of, utcnow
from app.jobs import board_versions
from app.models import Phase, PhaseJob

LEASE_SECONDS = 600.0
"""A recomputation of 1,000 entries takes seconds; a lease this long only bounds a dead run."""


def request(session: Session, phase_id: int, reason: str, *, now: datetime | None = None) -> None:
    """Ask for a recomputation of the phase's leaderboard (coalesced with any pending one)."""
    now = now or utcnow()
    statement = _request(session.get_bind().dialect.name)
    session.execute(statement, {"phase_id": phase_id, "reason": reason, "now": now})
    board_versions.bump(session, phase_id)


@cache
def _request(dialect: str) -> Any:
    """:func:`request`'s upsert (Core, on the table), built once per dialect: building a
    statement costs more than running it."""
    insert, table = upsert_of(PhaseJob, dialect)
    statement = insert.values(
        phase_id=bindparam("phase_id"),
        requested=1,
        claimed=0,
        done=0,
        reason=bindparam("reason"),
        requested_at=bindparam("now"),
    )
    return statement.on_conflict_do_update(
        index_elements=[table.c.phase_id],
        set_={
            "requested": table.c.requested + 1,
            "reason": bindparam("reason"),
            "requested_at": bindparam("now"),
        },
    )


def request_competition(
    session: Session, competition_id: int, reason: str, *, now: datetime | None = None
) -> None:
    """:func:`request` for every phase of a competition (a participant's entries changed)."""
    for phase_id in session.scalars(select(Phase.id).where(Phase.competition_id == competition_id)):
        request(session, phase_id, reason, now=now)


def _runnable(now: datetime) -> ColumnElement[bool]:
    return (PhaseJob.requested > PhaseJob.done) & (
        PhaseJob.token.is_(None) | (PhaseJob.lease_expires_at < now)
    )


def pending(session: Session, *, now: datetime | None = None) -> list[int]:
    """Phases with a recomputation waiting and no live run, oldest request first."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(PhaseJob.phase_id).where(_runnable(now)).order_by(PhaseJob.requested_at)
        )
    )


def claim(session: Session, phase_id: int, token: str, *, now: datetime) -> str | None:
    """Take the phase's pending run; the reason of its latest request, or None if taken."""
    claimed = session.execute(
        update(PhaseJob)
        .where(PhaseJob.phase_id == phase_id, _runnable(now))
        .values(
            token=token,
            claimed=PhaseJob.requested,
            lease_expires_at=now + timedelta(seconds=LEASE_SECONDS),
        )
        .returning(PhaseJob.reason)
    ).scalar_one_or_none()
    return claimed


def finish(session: Session, phase_id: int, token: str) -> bool:
    """Record the claimed requests as done; False when the run had been taken over."""
    result = session.execute(
        update(PhaseJob)
        .where(PhaseJob.phase_id == phase_id, PhaseJob.token == token)
        .values(done=PhaseJob.claimed, token=None, lease_expires_at=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
