"""Evaluating a submission: claim it, produce predictions, score every split, record the result.

The same functions run in the web process (inline scoring), in the embedded job runner and in
Celery workers. Each step is its own short transaction; the database is the source of truth,
and a job token makes sure only the dispatch that claimed a submission can finish it.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from app import metrics
from app.config import Settings
from app.db import Database, utcnow
from app.logs import current_submission
from app.models import (
    Phase,
    Split,
    Submission,
    SubmissionKind,
    SubmissionScore,
    SubmissionStatus,
    TestSetVersion,
)
from app.services import testsets
from app.services.submissions import stored_file
from scoring.errors import ScoringError
from scoring.metrics import SCORER_VERSION, ScoreReport, score
from scoring.predictions import PredictionLimits, parse_predictions
from scoring.testset import TestSet

log = logging.getLogger("fairboard.evaluation")

INTERNAL_ERROR = "internal error while evaluating this submission; the organizers can re-run it"
FILE_MISSING = "the submitted file is no longer stored; please submit again"


@dataclass(frozen=True)
class Claim:
    submission_id: int
    token: str


def claim(db: Database, submission_id: int, *, token: str | None = None) -> Claim | None:
    """Move a queued submission to running for this dispatch; None if another got it first.

    ``token`` names the dispatch (Celery workers put their task id in it); random by default.
    """
    token = token or secrets.token_hex(16)
    with db.transaction() as session:
        result = session.execute(
            update(Submission)
            .where(Submission.id == submission_id, Submission.status == SubmissionStatus.QUEUED)
            .values(
                status=SubmissionStatus.RUNNING,
                started_at=utcnow(),
                attempts=Submission.attempts + 1,
                job_token=token,
                progress_done=0,
                error=None,
            )
        )
    return Claim(submission_id, token) if result.rowcount == 1 else None  # type: ignore[attr-defined]


def _owned(claim_: Claim) -> tuple[ColumnElement[bool], ...]:
    return (
        Submission.id == claim_.submission_id,
        Submission.job_token == claim_.token,
        Submission.status == SubmissionStatus.RUNNING,
    )


def report_progress(db: Database, claim_: Claim, done: int, total: int) -> None:
    with db.transaction() as session:
        session.execute(
            update(Submission)
            .where(*_owned(claim_))
            .values(progress_done=done, progress_total=total)
        )


def _score_splits(
    settings: Settings,
    phase: Phase,
    testset: TestSetVersion,
    truth: TestSet,
    predictions: npt.NDArray[np.float64],
) -> dict[Split, ScoreReport]:
    if phase.public_fraction is None:
        return {Split.PUBLIC: score(truth, predictions)}
    mask = testsets.split_mask(settings, testset, phase.public_fraction, phase.split_seed)
    public_index = np.flatnonzero(mask)
    private_index = np.flatnonzero(~mask)
    return {
        Split.PUBLIC: score(truth.subset(public_index), predictions[public_index]),
        Split.PRIVATE: score(truth.subset(private_index), predictions[private_index]),
    }


def _predict(
    db: Database,
    settings: Settings,
    claim_: Claim,
    submission: Submission,
    phase: Phase,
    testset: TestSetVersion,
    truth: TestSet,
    path: Path,
) -> tuple[npt.NDArray[np.float64], str | None, float | None]:
    if submission.kind is SubmissionKind.PREDICTIONS:
        predictions = parse_predictions(
            path.read_bytes(),
            truth.ids,
            filename=submission.filename,
            limits=PredictionLimits(max_file_bytes=settings.max_prediction_file_bytes),
        )
        return predictions, None, None
    from app.services.models import run_model_submission

    result = run_model_submission(db, settings, claim_, submission, phase, testset, path)
    return result.predictions, result.execution_provider, result.seconds


def evaluate(db: Database, settings: Settings, claim_: Claim) -> SubmissionStatus:
    """Produce and score the predictions of a claimed submission, and record the outcome."""
    with db.transaction() as session:
        submission = session.get(Submission, claim_.submission_id)
        assert submission is not None
        phase = session.get(Phase, submission.phase_id)
        testset = session.get(TestSetVersion, submission.testset_id or -1)
        if phase is None or testset is None:
            raise RuntimeError(f"submission {submission.id} has no phase or test set")
        session.expunge_all()
    path = stored_file(settings, submission)
    started = time.perf_counter()
    try:
        if path is None or not path.exists():
            raise ScoringError(FILE_MISSING)
        truth = testsets.load_truth(settings, testset)
        predictions, provider, inference_seconds = _predict(
            db, settings, claim_, submission, phase, testset, truth, path
        )
        reports = _score_splits(settings, phase, testset, truth, predictions)
    except ScoringError as exc:
        log.info("submission %s rejected: %s", submission.id, exc)
        # A file rejected on its first evaluation is not kept; one that was scored before and
        # fails on a re-run (e.g. against a new test-set version) is kept for the next re-run.
        first_evaluation = submission.testset_fingerprint is None
        outcome = _fail(db, settings, claim_, str(exc), drop_file=first_evaluation)
        return _observed(submission.kind, started, outcome)
    except Exception:
        log.exception("submission %s: evaluation crashed", submission.id)
        outcome = _fail(db, settings, claim_, INTERNAL_ERROR, drop_file=False)
        return _observed(submission.kind, started, outcome)
    with db.transaction() as session:
        owned = session.execute(
            update(Submission)
            .where(*_owned(claim_))
            .values(
                status=SubmissionStatus.FINISHED,
                finished_at=utcnow(),
                scorer_version=SCORER_VERSION,
                testset_id=testset.id,
                testset_fingerprint=testset.fingerprint,
                execution_provider=provider,
                inference_seconds=inference_seconds,
                progress_done=len(truth),
                progress_total=len(truth),
                job_token=None,
            )
        )
        if owned.rowcount != 1:  # type: ignore[attr-defined]
            log.warning("submission %s: result discarded, the job was re-dispatched", submission.id)
            return SubmissionStatus.RUNNING
        replace_scores(session, submission.id, reports)
    log.info(
        "submission %s finished in %.3f s (mae %.4f)",
        submission.id,
        time.perf_counter() - started,
        reports[Split.PUBLIC].mae,
    )
    return _observed(
        submission.kind,
        started,
        SubmissionStatus.FINISHED,
        provider=provider,
        inference_seconds=inference_seconds,
    )


def _observed(
    kind: SubmissionKind,
    started: float,
    outcome: SubmissionStatus,
    *,
    provider: str | None = None,
    inference_seconds: float | None = None,
) -> SubmissionStatus:
    if outcome is not SubmissionStatus.RUNNING:  # RUNNING: the result was discarded
        metrics.observe_evaluation(
            kind,
            outcome,
            time.perf_counter() - started,
            provider=provider,
            inference_seconds=inference_seconds,
        )
    return outcome


def replace_scores(session: Session, submission_id: int, reports: dict[Split, ScoreReport]) -> None:
    session.query(SubmissionScore).filter(SubmissionScore.submission_id == submission_id).delete()
    for split, report in reports.items():
        scores = report.scores()
        session.add(
            SubmissionScore(
                submission_id=submission_id,
                split=split,
                mae=scores["mae"],
                age_bias=scores["age_bias"],
                gender_bias=scores["gender_bias"],
                ethnicity_bias=scores["ethnicity_bias"],
                expression_bias=scores["expression_bias"],
                report=report.to_dict(),
            )
        )


def _fail(
    db: Database, settings: Settings, claim_: Claim, message: str, *, drop_file: bool
) -> SubmissionStatus:
    with db.transaction() as session:
        submission = session.get(Submission, claim_.submission_id)
        path = stored_file(settings, submission) if submission is not None else None
        owned = session.execute(
            update(Submission)
            .where(*_owned(claim_))
            .values(
                status=SubmissionStatus.FAILED,
                error=message,
                finished_at=utcnow(),
                job_token=None,
                storage_key=None if drop_file else Submission.storage_key,
            )
        )
        if owned.rowcount != 1:  # type: ignore[attr-defined]
            return SubmissionStatus.RUNNING
        if drop_file and path is not None:
            # A rejected file is not kept: only the failed record (with its message) remains.
            path.unlink(missing_ok=True)
    return SubmissionStatus.FAILED


def run_submission(
    db: Database, settings: Settings, submission_id: int, *, token: str | None = None
) -> SubmissionStatus | None:
    """Claim and evaluate one submission; None when it was not queued (done or taken)."""
    marker = current_submission.set(submission_id)
    try:
        claimed = claim(db, submission_id, token=token)
        if claimed is None:
            return None
        return evaluate(db, settings, claimed)
    finally:
        current_submission.reset(marker)
