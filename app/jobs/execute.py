"""Running one job, the same in every runner: claim, evaluate under a lease, record.

Each step is its own short transaction. The claim's job token makes sure only the process
holding the lease records anything; a stale holder's result is discarded.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from app import notifications, telemetry
from app.config import Settings
from app.db import Database, utcnow
from app.jobs import phase_jobs, state
from app.jobs.deliveries import notify_settled
from app.jobs.leases import Heartbeat
from app.logs import current_submission
from app.models import Phase, Submission, SubmissionKind, SubmissionStatus, TestSetVersion, User
from app.models.submission import SubmissionScore
from app.services import standings_job
from app.services.evaluation import INTERNAL_ERROR, Rejected, Scored, evaluate
from app.services.standings import ENTRY_ADDED
from app.services.submissions import stored_file
from scoring.metrics import SCORER_VERSION

log = logging.getLogger("fairboard.jobs")

NO_PHASE_OR_TESTSET = "submission {id} has no phase or test set"


def _snapshot(db: Database, submission_id: int) -> tuple[Submission, Phase, TestSetVersion]:
    with db.sessionmaker() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        phase = session.get(Phase, submission.phase_id)
        testset = session.get(TestSetVersion, submission.testset_id or -1)
        if phase is None or testset is None:
            raise RuntimeError(NO_PHASE_OR_TESTSET.format(id=submission.id))
        session.expunge_all()
    return submission, phase, testset


def record(
    session: Session,
    settings: Settings,
    submission: Submission,
    testset: TestSetVersion,
    token: str,
    outcome: Scored | Rejected,
    worker: str,
    *,
    first_run: bool = False,
) -> SubmissionStatus | None:
    """Record the holder's outcome (scores or failure) in ``session``; None when not its job.

    ``first_run``: the submission was inserted in this transaction, so it has no scores yet.
    """
    if isinstance(outcome, Rejected):
        path = stored_file(settings, submission)
        if not state.fail(
            session,
            submission.id,
            token,
            outcome.message,
            worker=worker,
            drop_file=outcome.drop_file,
        ):
            return None
        if outcome.drop_file and path is not None:
            # A rejected file is not kept: only the failed record (with its message) remains.
            path.unlink(missing_ok=True)
        return SubmissionStatus.FAILED
    scores = [report.scores() for report in outcome.reports.values()]
    status = state.finish(
        session,
        submission.id,
        token,
        scores=scores,
        worker=worker,
        values={
            "scorer_version": SCORER_VERSION,
            "testset_id": testset.id,
            "testset_fingerprint": testset.fingerprint,
            "execution_provider": outcome.execution_provider,
            "inference_seconds": outcome.inference_seconds,
            "progress_done": outcome.items,
            "progress_total": outcome.items,
        },
    )
    if status is SubmissionStatus.FINISHED:
        if not first_run:
            session.query(SubmissionScore).filter(
                SubmissionScore.submission_id == submission.id
            ).delete()
        for split, report in outcome.reports.items():
            session.add(
                SubmissionScore(
                    submission_id=submission.id,
                    split=split,
                    **_columns(report.scores()),
                    report=report.to_dict(),
                )
            )
        phase_jobs.request(session, submission.phase_id, _added(session, submission))
    return status


def _added(session: Session, submission: Submission) -> str:
    """The change a newly scored submission makes to its leaderboard, in words."""
    if submission.is_baseline:
        label = f"Baseline: {submission.description}".strip().rstrip(":")
    else:
        # By primary key: a request's caller is already in the session, so no query.
        owner = session.get(User, submission.user_id)
        label = owner.username if owner is not None else "?"
    return ENTRY_ADDED.format(label=label)


def _columns(scores: dict[str, float | None]) -> dict[str, float | None]:
    return {name: scores[name] for name in state.SCORE_NAMES}


def run_claimed(
    db: Database, settings: Settings, submission_id: int, token: str, worker: str
) -> SubmissionStatus | None:
    """Evaluate a job this process holds, renewing its lease; None when the lease was lost."""
    try:
        submission, phase, testset = _snapshot(db, submission_id)
    except Exception:
        log.exception("submission %s: could not be loaded for evaluation", submission_id)
        with db.transaction() as session:
            failed = state.fail(session, submission_id, token, INTERNAL_ERROR, worker=worker)
        if failed:
            notify_settled(db, submission_id)
        return SubmissionStatus.FAILED if failed else None
    started = time.perf_counter()
    with Heartbeat(db, settings, submission_id, token) as heartbeat:
        outcome = evaluate(
            settings,
            submission,
            phase,
            testset,
            progress=heartbeat.report,
        )
    with db.transaction() as session:
        status = record(session, settings, submission, testset, token, outcome, worker)
    if status is None:
        log.warning("submission %s: result discarded, the job was taken over", submission_id)
        return None
    settled(db, settings, submission_id, submission.kind, status, outcome, started)
    return status


def settled(
    db: Database,
    settings: Settings,
    submission_id: int,
    kind: SubmissionKind,
    status: SubmissionStatus,
    outcome: Scored | Rejected,
    started: float,
    *,
    session: Session | None = None,
) -> None:
    """What follows a recorded outcome's commit: webhooks, mail, metrics, the log.

    ``session``: the request's own (committed), which the inline path reuses.
    """
    notify_settled(db, submission_id, session=session)
    # After the transition's commit, so a mail server that is down cannot undo a result.
    notifications.submission_result(db, settings, submission_id, session=session)
    scored = outcome if isinstance(outcome, Scored) else None
    telemetry.observe_evaluation(
        kind,
        status,
        time.perf_counter() - started,
        provider=scored.execution_provider if scored else None,
        inference_seconds=scored.inference_seconds if scored else None,
    )
    log.info(
        "submission %s %s in %.3f s", submission_id, status.value, time.perf_counter() - started
    )


def run_submission(
    db: Database,
    settings: Settings,
    submission_id: int,
    *,
    worker: str,
    token: str | None = None,
) -> SubmissionStatus | None:
    """Claim and evaluate one submission; None when it was not queued (done or taken).

    ``token`` names the claim (random by default). A job whose lease this process lost while
    it ran answers ``RUNNING``: someone else owns it now.
    """
    marker = current_submission.set(submission_id)
    token = token or secrets.token_hex(16)
    try:
        with db.transaction() as session:
            claimed = state.claim(
                session,
                submission_id,
                token=token,
                worker=worker,
                lease_seconds=settings.job_lease_seconds,
            )
        if not claimed:
            return None
        status = run_claimed(db, settings, submission_id, token, worker)
        return SubmissionStatus.RUNNING if status is None else status
    finally:
        current_submission.reset(marker)


def run_next(
    db: Database,
    settings: Settings,
    kind: SubmissionKind,
    *,
    worker: str,
    stopping: Callable[[], bool] = lambda: False,
) -> tuple[int, SubmissionStatus] | None:
    """Run the next queued job of ``kind`` in the fair order; None when there was none."""
    with db.sessionmaker() as session:
        order = state.fair_queue_order(session, kind)
    for submission_id in order:
        if stopping():
            return None
        status = run_submission(db, settings, submission_id, worker=worker)
        if status is not None:
            return submission_id, status
    return None


def run_phase_job(db: Database, settings: Settings, phase_id: int) -> bool:
    """Claim and run one phase's recomputation; False when there was nothing to claim."""
    token = secrets.token_hex(16)
    with db.transaction() as session:
        reason = phase_jobs.claim(session, phase_id, token, now=utcnow())
    if reason is None:
        return False
    try:
        with db.transaction() as session:
            standings_job.recompute(session, settings, phase_id, cause=reason, now=utcnow())
            phase_jobs.finish(session, phase_id, token)
    except Exception:
        # Marked done all the same: a run that fails would fail again; the next change retries.
        log.exception("phase %s: leaderboard recomputation failed", phase_id)
        with db.transaction() as session:
            phase_jobs.finish(session, phase_id, token)
    return True


def run_pending_phase_jobs(db: Database, settings: Settings) -> int:
    """Run every pending recomputation once; how many ran."""
    with db.sessionmaker() as session:
        phase_ids = phase_jobs.pending(session)
    return sum(run_phase_job(db, settings, phase_id) for phase_id in phase_ids)
