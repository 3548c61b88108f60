"""Re-running submissions and re-scoring a phase, with a report of what changed.

Re-running puts a submission back in the queue (the job runner evaluates it again, on the
phase's current test set). Re-scoring a phase re-runs every finished submission after noting
its scores and leaderboard positions, so the report can compare before and after while the
re-runs are still in progress.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound
from app.jobs import phase_jobs, state
from app.jobs.dispatch import JobDispatcher
from app.models import (
    Phase,
    Rescore,
    Split,
    Submission,
    SubmissionKind,
    SubmissionScore,
    SubmissionStatus,
    User,
)
from app.services import audit, competitions, leaderboard
from app.services.listing import Pager, WindowT, contains, fetch_page
from app.services.phases import update_phase
from app.services.stored_scores import read_scores
from scoring.groups import SCORE_NAMES

NO_STORED_FILE = (
    "submission {id} cannot be re-run: its file was rejected and is not kept "
    "(the participant has to submit again)"
)
ALREADY_QUEUED = "submission {id} is already {status}; wait until it has finished"
PHASE_HAS_NO_TESTSET = "phase {phase!r} has no test set to score on"
RESCORE_NOT_FOUND = "re-scoring {id} not found"
SUBMISSION_NOT_FOUND = "submission {id} not found"
UNCHANGED_TOLERANCE = 1e-12

Pending = list[tuple[int, SubmissionKind]]
"""Submissions to hand to the job runner once the transaction that queued them committed."""


RERUN_REASON = "re-run by the organizers"
RESCORED = "submission {id} was sent to be scored again"
RESCORE_REASON = "re-scored by the organizers on test set {testset}"


def _requeue(
    session: Session, submission: Submission, phase: Phase, actor: User, reason: str, now: datetime
) -> None:
    """Back to the queue, to be evaluated on the phase's current test set.

    The fingerprint of the test set it was last scored on is kept until the new result lands.
    """
    state.rerun(
        session,
        submission.id,
        testset_id=phase.testset_id,
        actor=actor.username,
        reason=reason,
        now=now,
    )
    phase_jobs.request(session, phase.id, RESCORED.format(id=submission.id), now=now)


def _check_rerunnable(submission: Submission) -> None:
    if submission.storage_key is None:
        raise Conflict(NO_STORED_FILE.format(id=submission.id))
    if submission.status in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING):
        raise Conflict(ALREADY_QUEUED.format(id=submission.id, status=submission.status.value))


def rerun_submission(
    session: Session, submission_id: int, actor: User, *, now: datetime
) -> tuple[Submission, Pending]:
    """Re-queue one submission of a competition the actor organizes."""
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound(SUBMISSION_NOT_FOUND.format(id=submission_id))
    phase = competitions.get_phase(session, submission.phase_id)
    competitions.require_organizer(session, phase.competition_id, actor)
    if phase.testset_id is None:
        raise Conflict(PHASE_HAS_NO_TESTSET.format(phase=phase.name))
    _check_rerunnable(submission)
    previous = submission.status.value
    _requeue(session, submission, phase, actor, RERUN_REASON, now)
    audit.record(
        session,
        actor,
        "submission.rerun",
        competition_id=phase.competition_id,
        target=f"submission {submission.id}",
        now=now,
        previous_status=previous,
        testset_id=phase.testset_id,
    )
    return submission, [(submission.id, submission.kind)]


def scores_by_submission(
    session: Session, submission_ids: list[int]
) -> dict[int, dict[str, dict[str, float | None]]]:
    scores: dict[int, dict[str, dict[str, float | None]]] = defaultdict(dict)
    if not submission_ids:
        return scores
    for row in session.scalars(
        select(SubmissionScore).where(SubmissionScore.submission_id.in_(submission_ids))
    ):
        scores[row.submission_id][row.split.value] = read_scores(
            {name: getattr(row, name) for name in SCORE_NAMES}
        ).scores
    return scores


def _positions(session: Session, phase: Phase) -> dict[str, dict[str, int]]:
    """Leaderboard position of each entry's submission, per split (organizer view)."""
    splits = [Split.PUBLIC] if phase.public_fraction is None else [Split.PUBLIC, Split.PRIVATE]
    return {
        split.value: {
            str(row.submission_id): row.position
            for row in leaderboard.build_leaderboard(session, phase, split=split).rows
        }
        for split in splits
    }


def rescore_phase(
    session: Session,
    phase_id: int,
    actor: User,
    *,
    now: datetime,
    testset_id: int | None = None,
    include_failed: bool = False,
) -> tuple[Rescore, Pending]:
    """Optionally re-point the phase to another test set, then re-run its finished submissions.

    With ``include_failed``, failed submissions that still have their file are re-run too.
    """
    phase = competitions.get_phase(session, phase_id)
    competitions.require_organizer(session, phase.competition_id, actor)
    from_testset = phase.testset
    if testset_id is not None and testset_id != phase.testset_id:
        phase = update_phase(session, phase.id, actor, {"testset_id": testset_id}, now=now)
    if phase.testset is None:
        raise Conflict(PHASE_HAS_NO_TESTSET.format(phase=phase.name))
    statuses = [SubmissionStatus.FINISHED]
    if include_failed:
        statuses.append(SubmissionStatus.FAILED)
    chosen = list(
        session.scalars(
            select(Submission)
            .where(
                Submission.phase_id == phase.id,
                Submission.status.in_(statuses),
                Submission.storage_key.is_not(None),
            )
            .order_by(Submission.created_at, Submission.id)
        )
    )
    ids = [s.id for s in chosen]
    scores = scores_by_submission(session, ids)
    before = {
        "submissions": {
            str(s.id): {
                "status": s.status.value,
                "testset_fingerprint": s.testset_fingerprint,
                "scores": scores.get(s.id, {}),
            }
            for s in chosen
        },
        "positions": _positions(session, phase),
    }
    for submission in chosen:
        _requeue(
            session,
            submission,
            phase,
            actor,
            RESCORE_REASON.format(testset=phase.testset.name),
            now,
        )
    run = Rescore(
        phase_id=phase.id,
        actor_id=actor.id,
        from_testset_id=from_testset.id if from_testset else None,
        to_testset_id=phase.testset.id,
        from_fingerprint=from_testset.fingerprint if from_testset else None,
        to_fingerprint=phase.testset.fingerprint,
        submission_ids=ids,
        before=before,
        created_at=now,
    )
    session.add(run)
    session.flush()
    audit.record(
        session,
        actor,
        "phase.rescore",
        competition_id=phase.competition_id,
        target=f"phase {phase.id}",
        now=now,
        rescore_id=run.id,
        submissions=len(ids),
        from_fingerprint=run.from_fingerprint,
        to_fingerprint=run.to_fingerprint,
    )
    return run, [(s.id, s.kind) for s in chosen]


def dispatch(jobs: JobDispatcher, pending: Pending) -> None:
    """Hand re-queued submissions to the job runner (after their transaction committed)."""
    for submission_id, kind in pending:
        jobs.dispatch(submission_id, kind)


# --- The report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmissionChange:
    """One re-scored submission: its scores and leaderboard positions before and after."""

    submission_id: int
    participant: str
    kind: str
    is_baseline: bool
    status: str
    error: str | None
    before_fingerprint: str | None
    after_fingerprint: str | None
    before: dict[str, dict[str, float | None]]
    after: dict[str, dict[str, float | None]]
    before_position: dict[str, int | None]
    after_position: dict[str, int | None]

    @property
    def done(self) -> bool:
        return self.status in (SubmissionStatus.FINISHED.value, SubmissionStatus.FAILED.value)

    @property
    def delta(self) -> dict[str, dict[str, float | None]]:
        """after − before per split and score (None where either is missing)."""
        result: dict[str, dict[str, float | None]] = {}
        for split, old in self.before.items():
            new = self.after.get(split, {})
            result[split] = {
                name: (
                    None
                    if old.get(name) is None or new.get(name) is None
                    else float(new[name]) - float(old[name])  # type: ignore[arg-type]
                )
                for name in SCORE_NAMES
            }
        return result

    @property
    def scores_changed(self) -> bool:
        if self.status != SubmissionStatus.FINISHED.value:
            return self.done
        for split in set(self.before) | set(self.after):
            old, new = self.before.get(split, {}), self.after.get(split, {})
            for name in SCORE_NAMES:
                a, b = old.get(name), new.get(name)
                if (a is None) != (b is None):
                    return True
                if a is not None and b is not None and abs(a - b) > UNCHANGED_TOLERANCE:
                    return True
        return False

    @property
    def position_changed(self) -> bool:
        return self.done and self.before_position != self.after_position

    def to_dict(self) -> dict[str, Any]:
        return {
            "submission_id": self.submission_id,
            "participant": self.participant,
            "kind": self.kind,
            "is_baseline": self.is_baseline,
            "status": self.status,
            "error": self.error,
            "before_fingerprint": self.before_fingerprint,
            "after_fingerprint": self.after_fingerprint,
            "before": self.before,
            "after": self.after,
            "delta": self.delta,
            "before_position": self.before_position,
            "after_position": self.after_position,
            "scores_changed": self.scores_changed,
            "position_changed": self.position_changed,
        }


@dataclass(frozen=True)
class RescoreReport:
    """What a re-scoring changed; complete once every re-run has finished or failed."""

    rescore: Rescore
    actor: str | None
    changes: list[SubmissionChange]

    @property
    def complete(self) -> bool:
        return all(change.done for change in self.changes)

    def counts(self) -> dict[str, int]:
        statuses = [change.status for change in self.changes]
        return {
            "submissions": len(self.changes),
            "pending": sum(not change.done for change in self.changes),
            "finished": statuses.count(SubmissionStatus.FINISHED.value),
            "failed": statuses.count(SubmissionStatus.FAILED.value),
            "scores_changed": sum(change.scores_changed for change in self.changes),
            "positions_changed": sum(change.position_changed for change in self.changes),
        }

    def to_dict(self) -> dict[str, Any]:
        run = self.rescore
        return {
            "id": run.id,
            "phase_id": run.phase_id,
            "created_at": run.created_at.isoformat(),
            "actor": self.actor,
            "from_testset_id": run.from_testset_id,
            "to_testset_id": run.to_testset_id,
            "from_fingerprint": run.from_fingerprint,
            "to_fingerprint": run.to_fingerprint,
            "complete": self.complete,
            "counts": self.counts(),
            "changes": [change.to_dict() for change in self.changes],
        }


def get_rescore(session: Session, rescore_id: int, actor: User) -> Rescore:
    """A re-scoring of a phase the actor organizes."""
    run = session.get(Rescore, rescore_id)
    if run is None:
        raise NotFound(RESCORE_NOT_FOUND.format(id=rescore_id))
    phase = competitions.get_phase(session, run.phase_id)
    if not competitions.is_organizer(session, phase.competition_id, actor):
        raise NotFound(RESCORE_NOT_FOUND.format(id=rescore_id))
    return run


def list_rescores(session: Session, phase_id: int, actor: User) -> list[Rescore]:
    """A phase's re-scorings, newest first."""
    phase = competitions.get_phase(session, phase_id)
    competitions.require_organizer(session, phase.competition_id, actor)
    return list(
        session.scalars(
            select(Rescore)
            .where(Rescore.phase_id == phase.id)
            .order_by(Rescore.created_at.desc(), Rescore.id.desc())
        )
    )


def rescores_page(
    session: Session, phase_id: int, actor: User, pager: Pager[WindowT], *, search: str = ""
) -> tuple[WindowT, list[tuple[Rescore, str | None]]]:
    """One page of a phase's re-scorings, newest first, with who started each; the starter
    or the test set's fingerprint holds ``search``."""
    phase = competitions.get_phase(session, phase_id)
    competitions.require_organizer(session, phase.competition_id, actor)
    query = (
        select(Rescore, User.username)
        .outerjoin(User, User.id == Rescore.actor_id)
        .where(Rescore.phase_id == phase.id)
        .order_by(Rescore.created_at.desc(), Rescore.id.desc())
    )
    if search:
        query = query.where(contains(search, User.username, Rescore.to_fingerprint))
    window, found = fetch_page(session, query, pager)
    return window, [(run, username) for run, username in found]


def changes_shown(
    report: RescoreReport, *, changed_only: bool, search: str = ""
) -> list[SubmissionChange]:
    """The report's rows to list: those still pending or whose scores, position or state
    changed (every row unless ``changed_only``), their participant holding ``search``.

    Filtered here rather than in SQL: whether a row changed is a comparison with the scores
    noted in the re-scoring's JSON, and the summary above the rows counts them all anyway.
    """
    wanted = search.casefold()
    return [
        change
        for change in report.changes
        if (not changed_only or not change.done or change.scores_changed or change.position_changed)
        and wanted in change.participant.casefold()
    ]


def report(session: Session, run: Rescore) -> RescoreReport:
    """Compare what a re-scoring noted before with the submissions as they are now."""
    phase = competitions.get_phase(session, run.phase_id)
    ids = [int(i) for i in run.submission_ids]
    rows = (
        {
            submission.id: (submission, username)
            for submission, username in session.execute(
                select(Submission, User.username)
                .join(User, User.id == Submission.user_id)
                .where(Submission.id.in_(ids))
            )
        }
        if ids
        else {}
    )
    now_scores = scores_by_submission(session, ids)
    now_positions = _positions(session, phase)
    before_positions: dict[str, dict[str, int]] = run.before.get("positions", {})
    before_submissions: dict[str, Any] = run.before.get("submissions", {})
    changes = []
    for submission_id in ids:
        if submission_id not in rows:
            continue  # deleted since
        submission, username = rows[submission_id]
        noted = before_submissions.get(str(submission_id), {})
        finished = submission.status == SubmissionStatus.FINISHED
        changes.append(
            SubmissionChange(
                submission_id=submission_id,
                participant=(
                    f"Baseline: {submission.description or username}"
                    if submission.is_baseline
                    else username
                ),
                kind=submission.kind.value,
                is_baseline=submission.is_baseline,
                status=submission.status.value,
                error=submission.error,
                before_fingerprint=noted.get("testset_fingerprint"),
                after_fingerprint=submission.testset_fingerprint if finished else None,
                before=noted.get("scores", {}),
                after=now_scores.get(submission_id, {}) if finished else {},
                before_position={
                    split: positions.get(str(submission_id))
                    for split, positions in before_positions.items()
                },
                after_position={
                    split: positions.get(str(submission_id))
                    for split, positions in now_positions.items()
                },
            )
        )
    actor = session.get(User, run.actor_id) if run.actor_id else None
    return RescoreReport(rescore=run, actor=actor.username if actor else None, changes=changes)
