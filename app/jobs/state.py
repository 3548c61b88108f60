"""The only code that changes a submission's status: a transition table, applied one
conditional UPDATE at a time, each recorded on the submission's timeline.

A transition states what it expects to find (the statuses it leaves, and for a job's holder
its job token); when the row is not as expected the UPDATE changes nothing and the caller
learns that it lost the job. Nothing here commits: the job or request boundary does.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import ColumnElement, Insert, Table, func, insert, or_, select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.jobs import board_versions
from app.models import Submission, SubmissionEvent, SubmissionKind, SubmissionStatus

QUEUED, RUNNING, FINISHED, FAILED = (
    SubmissionStatus.QUEUED,
    SubmissionStatus.RUNNING,
    SubmissionStatus.FINISHED,
    SubmissionStatus.FAILED,
)

MAX_ATTEMPTS = 3
SCORE_NAMES = ("mae", "age_bias", "gender_bias", "ethnicity_bias", "expression_bias")

GAVE_UP = (
    "the evaluation was interrupted {attempts} times (its worker was lost); "
    "the organizers can re-run it"
)
INVALID_SCORES = (
    "the scores of this run are not valid numbers ({problems}); the result was not recorded"
)
LEASE_EXPIRED = "lease expired on {worker}, re-queued"
INTERRUPTED = "interrupted on {worker} by a restart of the server, re-queued"
SUBMITTED = "submitted"
CLAIMED = "started on {worker}"
SCORED = "scored"


class Transition(enum.StrEnum):
    CLAIM = "claim"
    """A worker takes a queued job."""
    FINISH = "finish"
    """Its holder records the scores."""
    FAIL = "fail"
    """Its holder records why it could not be scored."""
    REJECT = "reject"
    """Refused at upload, before any run (the model check)."""
    LEASE_LOST = "lease_lost"
    """Its holder stopped renewing the lease (or the embedded server restarted): queued again."""
    GIVE_UP = "give_up"
    """Lost too often: a job that kills its worker must not loop forever."""
    RERUN = "rerun"
    """An organizer re-runs or re-scores it."""


@dataclass(frozen=True)
class Rule:
    sources: frozenset[SubmissionStatus]
    target: SubmissionStatus


TRANSITIONS: Mapping[Transition, Rule] = {
    Transition.CLAIM: Rule(frozenset({QUEUED}), RUNNING),
    Transition.FINISH: Rule(frozenset({RUNNING}), FINISHED),
    Transition.FAIL: Rule(frozenset({RUNNING}), FAILED),
    Transition.REJECT: Rule(frozenset({QUEUED}), FAILED),
    Transition.LEASE_LOST: Rule(frozenset({RUNNING}), QUEUED),
    Transition.GIVE_UP: Rule(frozenset({RUNNING}), FAILED),
    Transition.RERUN: Rule(frozenset(SubmissionStatus), QUEUED),
}
"""Every allowed change of status; anything else is refused."""

UNSEEN_BY_BOARDS = frozenset({Transition.CLAIM, Transition.LEASE_LOST})
"""Transitions between queued and running, which no leaderboard shows; every other one raises
the phase's board version (``board_versions``)."""


def allowed(source: SubmissionStatus, target: SubmissionStatus) -> bool:
    """Whether some transition moves a submission from ``source`` to ``target``."""
    return any(source in r.sources and r.target is target for r in TRANSITIONS.values())


def _apply(
    session: Session,
    transition: Transition,
    submission_id: int,
    *,
    expect: tuple[ColumnElement[bool], ...] = (),
    values: Mapping[str, Any] | None = None,
    actor: str,
    reason: str,
    now: datetime,
) -> bool:
    """One conditional UPDATE; on success, one timeline event. False when the row was not as
    expected (another process got there first)."""
    rule = TRANSITIONS[transition]
    if len(rule.sources) == 1:
        # One possible source: the conditional UPDATE alone says whether the row was in it.
        (before,) = rule.sources
    else:
        found = session.scalar(select(Submission.status).where(Submission.id == submission_id))
        if found is None or found not in rule.sources:
            return False
        before = found
    changed = session.execute(
        update(Submission)
        .where(Submission.id == submission_id, Submission.status == before, *expect)
        .values(status=rule.target, **(values or {}))
        .returning(Submission.phase_id)
        .execution_options(synchronize_session="fetch")
    ).all()
    if len(changed) != 1:
        return False
    session.execute(
        _event_insert(),
        {
            "submission_id": submission_id,
            "at": now,
            "from_status": before,
            "to_status": rule.target,
            "actor": actor[:128],
            "reason": reason,
        },
    )
    if transition not in UNSEEN_BY_BOARDS:
        board_versions.bump(session, changed[0].phase_id)
    return True


@cache
def _event_insert() -> Insert:
    """A timeline event's insert (Core, on the table), built once: building a statement costs
    more than running it, on a path every submission takes three times."""
    return insert(cast(Table, SubmissionEvent.__table__))


def record_creation(session: Session, submission: Submission, *, actor: str) -> None:
    """The first event of a timeline: the upload was accepted and queued."""
    session.execute(
        _event_insert(),
        {
            "submission_id": submission.id,
            "at": submission.created_at,
            "from_status": None,
            "to_status": submission.status,
            "actor": actor[:128],
            "reason": SUBMITTED,
        },
    )
    board_versions.bump(session, submission.phase_id)  # its Entries and Date of last entry


def _held(token: str) -> tuple[ColumnElement[bool], ...]:
    return (Submission.job_token == token,)


def claim(
    session: Session,
    submission_id: int,
    *,
    token: str,
    worker: str,
    lease_seconds: float,
    now: datetime | None = None,
) -> bool:
    """queued → running under ``token``, with a fresh lease."""
    now = now or utcnow()
    return _apply(
        session,
        Transition.CLAIM,
        submission_id,
        values={
            "started_at": now,
            "finished_at": None,
            "attempts": Submission.attempts + 1,
            "job_token": token,
            "worker": worker[:128],
            "lease_expires_at": now + timedelta(seconds=lease_seconds),
            "progress_done": 0,
            "error": None,
        },
        actor=worker,
        reason=CLAIMED.format(worker=worker),
        now=now,
    )


def renew(
    session: Session,
    submission_id: int,
    token: str,
    *,
    lease_seconds: float,
    progress: tuple[int, int] | None = None,
    now: datetime | None = None,
) -> bool:
    """Extend the holder's lease (and record progress); False once the job is no longer its."""
    now = now or utcnow()
    values: dict[str, Any] = {"lease_expires_at": now + timedelta(seconds=lease_seconds)}
    if progress is not None:
        values |= {"progress_done": progress[0], "progress_total": progress[1]}
    result = session.execute(
        update(Submission)
        .where(Submission.id == submission_id, Submission.status == RUNNING, *_held(token))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def score_problems(scores: Mapping[str, float | None]) -> list[str]:
    """What makes a report's five scores unrecordable: mae must be finite, biases finite or
    undefined (None)."""
    problems = []
    for name in SCORE_NAMES:
        value = scores.get(name)
        if value is None and name != "mae":
            continue
        if value is None or not math.isfinite(value):
            problems.append(f"{name} is {value}")
    return problems


def finish(
    session: Session,
    submission_id: int,
    token: str,
    *,
    scores: Sequence[Mapping[str, float | None]],
    values: Mapping[str, Any],
    worker: str,
    now: datetime | None = None,
) -> SubmissionStatus | None:
    """running → finished by the holder, only with valid scores on every split; a run whose
    scores are not valid numbers becomes failed instead. None when the job is not its any more.
    """
    now = now or utcnow()
    problems = [problem for split in scores for problem in score_problems(split)]
    if not scores or problems:
        message = INVALID_SCORES.format(problems="; ".join(problems) or "no scores")
        return FAILED if fail(session, submission_id, token, message, worker=worker) else None
    done = _apply(
        session,
        Transition.FINISH,
        submission_id,
        expect=_held(token),
        values={
            **values,
            "finished_at": now,
            "job_token": None,
            "lease_expires_at": None,
            "error": None,
        },
        actor=worker,
        reason=SCORED,
        now=now,
    )
    return FINISHED if done else None


def fail(
    session: Session,
    submission_id: int,
    token: str,
    message: str,
    *,
    worker: str,
    drop_file: bool = False,
    now: datetime | None = None,
) -> bool:
    """running → failed by the holder, with the participant-facing ``message``."""
    now = now or utcnow()
    values: dict[str, Any] = {
        "error": message,
        "finished_at": now,
        "job_token": None,
        "lease_expires_at": None,
    }
    if drop_file:
        values["storage_key"] = None
    return _apply(
        session,
        Transition.FAIL,
        submission_id,
        expect=_held(token),
        values=values,
        actor=worker,
        reason=message,
        now=now,
    )


def reject(
    session: Session, submission_id: int, message: str, *, actor: str, now: datetime
) -> bool:
    """queued → failed at upload: the file itself is not kept."""
    return _apply(
        session,
        Transition.REJECT,
        submission_id,
        values={"error": message, "finished_at": now, "storage_key": None},
        actor=actor,
        reason=message,
        now=now,
    )


def take_back(
    session: Session,
    submission_id: int,
    *,
    expect: tuple[ColumnElement[bool], ...],
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> SubmissionStatus | None:
    """A running job whose holder is gone: queued again, or failed after ``MAX_ATTEMPTS``
    interruptions. None when it was not as expected (its holder finished it meanwhile)."""
    now = now or utcnow()
    cleared = {"job_token": None, "lease_expires_at": None, "progress_done": 0}
    if _apply(
        session,
        Transition.LEASE_LOST,
        submission_id,
        expect=(*expect, Submission.attempts < MAX_ATTEMPTS),
        values=cleared | {"started_at": None},
        actor=actor,
        reason=reason,
        now=now,
    ):
        return QUEUED
    message = GAVE_UP.format(attempts=MAX_ATTEMPTS)
    if _apply(
        session,
        Transition.GIVE_UP,
        submission_id,
        expect=(*expect, Submission.attempts >= MAX_ATTEMPTS),
        values=cleared | {"error": message, "finished_at": now},
        actor=actor,
        reason=message,
        now=now,
    ):
        return FAILED
    return None


def expired_leases(session: Session, now: datetime) -> list[tuple[int, str, str]]:
    """Running jobs whose lease is past: (id, job token, holder)."""
    rows = session.execute(
        select(Submission.id, Submission.job_token, Submission.worker).where(
            Submission.status == RUNNING,
            or_(Submission.lease_expires_at.is_(None), Submission.lease_expires_at <= now),
        )
    ).all()
    return [(row[0], row[1] or "", row[2] or "an unknown worker") for row in rows]


def release_expired(session: Session, *, actor: str, now: datetime | None = None) -> list[int]:
    """Take back every job whose lease expired; the ids that changed."""
    now = now or utcnow()
    changed = []
    for submission_id, token, holder in expired_leases(session, now):
        same_claim = (
            Submission.job_token == token if token else Submission.job_token.is_(None),
            or_(Submission.lease_expires_at.is_(None), Submission.lease_expires_at <= now),
        )
        reason = LEASE_EXPIRED.format(worker=holder)
        if take_back(
            session, submission_id, expect=same_claim, reason=reason, actor=actor, now=now
        ):
            changed.append(submission_id)
    return changed


def release_all_running(
    session: Session, *, actor: str, spare: Callable[[str], bool] = lambda holder: False
) -> list[int]:
    """Embedded mode at start-up: every running job was this server's and is gone with it,
    but those whose holder ``spare`` names (a sibling process still at work)."""
    now = utcnow()
    ids = list(session.scalars(select(Submission.id).where(Submission.status == RUNNING)))
    changed = []
    for submission_id in ids:
        holder = session.scalar(select(Submission.worker).where(Submission.id == submission_id))
        if holder and spare(holder):
            continue
        reason = INTERRUPTED.format(worker=holder or "this server")
        if take_back(session, submission_id, expect=(), reason=reason, actor=actor, now=now):
            changed.append(submission_id)
    return changed


def rerun(
    session: Session,
    submission_id: int,
    *,
    testset_id: int | None,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> bool:
    """Any status → queued, to be evaluated (again) on ``testset_id``; a holder of the old run
    can record nothing more. The fingerprint it was last scored on stays until the new result.
    """
    now = now or utcnow()
    return _apply(
        session,
        Transition.RERUN,
        submission_id,
        values={
            "job_token": None,
            "lease_expires_at": None,
            "testset_id": testset_id,
            "progress_done": 0,
            "started_at": None,
            "finished_at": None,
        },
        actor=actor,
        reason=reason,
        now=now,
    )


def fair_queue_order(session: Session, kind: SubmissionKind) -> list[int]:
    """Queued submissions of a kind in the order they will run, in either mode.

    Round-robin across participants: everyone's first queued job comes before anyone's
    second; among equal turns, the participant served least recently (never first) goes
    first, then arrival order. So one participant's burst of 20 models costs the others at
    most one of its jobs each, however the jobs arrive.
    """
    turn = (
        func.row_number()
        .over(partition_by=Submission.user_id, order_by=(Submission.created_at, Submission.id))
        .label("turn")
    )
    queued = (
        select(Submission.id, Submission.user_id, Submission.created_at, turn)
        .where(Submission.status == QUEUED, Submission.kind == kind)
        .subquery()
    )
    served = (
        select(Submission.user_id, func.max(Submission.started_at).label("last_started"))
        .where(Submission.kind == kind, Submission.started_at.is_not(None))
        .group_by(Submission.user_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(queued.c.id)
            .outerjoin(served, served.c.user_id == queued.c.user_id)
            .order_by(
                queued.c.turn,
                served.c.last_started.asc().nulls_first(),
                queued.c.created_at,
                queued.c.id,
            )
        )
    )


def timeline(session: Session, submission_id: int) -> list[SubmissionEvent]:
    """A submission's transitions, oldest first."""
    return list(
        session.scalars(
            select(SubmissionEvent)
            .where(SubmissionEvent.submission_id == submission_id)
            .order_by(SubmissionEvent.at, SubmissionEvent.id)
        )
    )
