"""Evaluating a claimed submission: produce its predictions and score every split.

Pure work on a snapshot of the submission: no status is written here (``app.jobs.state`` owns
that) and nothing here knows which runner called it; progress goes to the callback it is
given. Participant-facing failures come back as ``Rejected`` with Fairboard's own message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.config import Settings
from app.models import Phase, Split, Submission, SubmissionKind, TestSetVersion
from app.services import intervals, testsets
from app.services.model_runs import participant_message, run_model_submission
from app.services.submissions import stored_file
from scoring.errors import ScoringError
from scoring.inference import ModelRejected
from scoring.metrics import ScoreReport, score
from scoring.predictions import PredictionLimits, parse_predictions
from scoring.testset import TestSet

log = logging.getLogger("fairboard.evaluation")

INTERNAL_ERROR = "internal error while evaluating this submission; the organizers can re-run it"
FILE_MISSING = "the submitted file is no longer stored; please submit again"

Progress = Callable[[int, int], None]
"""Told (done, total) as a model's inference advances."""


@dataclass(frozen=True)
class Scored:
    reports: dict[Split, ScoreReport]
    items: int
    execution_provider: str | None = None
    inference_seconds: float | None = None


@dataclass(frozen=True)
class Rejected:
    message: str
    """Fairboard's words for what was wrong, shown to the participant."""
    drop_file: bool


def _splits(
    settings: Settings, phase: Phase, testset: TestSetVersion, truth: TestSet
) -> dict[Split, tuple[TestSet, npt.NDArray[np.intp] | None]]:
    """Each split's labels and items (None: the whole test set)."""
    if phase.public_fraction is None:
        return {Split.PUBLIC: (truth, None)}
    parts = testsets.split_items(settings, testset, phase.public_fraction, phase.split_seed)
    return {
        Split.PUBLIC: (parts.public, parts.public_index),
        Split.PRIVATE: (parts.private, parts.private_index),
    }


def split_truth(
    settings: Settings, phase: Phase, testset: TestSetVersion, truth: TestSet, split: Split
) -> tuple[TestSet, npt.NDArray[np.intp] | None]:
    """The labels of one split of a phase and its items (None: the whole test set)."""
    return _splits(settings, phase, testset, truth).get(split, (truth, None))


def _score_splits(
    settings: Settings,
    phase: Phase,
    testset: TestSetVersion,
    truth: TestSet,
    predictions: npt.NDArray[np.float64],
) -> dict[Split, ScoreReport]:
    return {
        split: score(items, predictions if index is None else predictions[index])
        for split, (items, index) in _splits(settings, phase, testset, truth).items()
    }


def _parse_file(
    settings: Settings, path: Path, truth: TestSet, filename: str
) -> npt.NDArray[np.float64]:
    return parse_predictions(
        path.read_bytes(),
        truth.ids,
        filename=filename,
        limits=PredictionLimits(max_file_bytes=settings.max_prediction_file_bytes),
    )


@dataclass(frozen=True)
class Upfront:
    """A new prediction file scored before its record exists (the inline path)."""

    outcome: Scored | Rejected
    aside: Path | None
    """Its predictions, written aside for the intervals (``intervals.write_aside``): placed
    once the record has its id, discarded if the upload is refused."""

    def discard(self) -> None:
        """The upload was refused: its predictions are not kept."""
        if self.aside is not None:
            intervals.discard_aside(self.aside)


def evaluate_upload(
    settings: Settings, phase: Phase, testset: TestSetVersion, path: Path, filename: str
) -> Upfront:
    """Score a just-uploaded prediction file (no record yet): ``evaluate``'s outcome for it."""
    try:
        truth = testsets.load_truth(settings, testset)
        predictions = _parse_file(settings, path, truth, filename)
        reports = _score_splits(settings, phase, testset, truth, predictions)
        aside = intervals.write_aside(settings, predictions)
    except ScoringError as exc:
        log.info("upload %s rejected: %s", filename, exc)
        return Upfront(Rejected(str(exc), drop_file=True), None)
    except Exception:
        log.exception("upload %s: evaluation crashed", filename)
        return Upfront(Rejected(INTERNAL_ERROR, drop_file=False), None)
    return Upfront(Scored(reports, len(truth)), aside)


def evaluate(
    settings: Settings,
    submission: Submission,
    phase: Phase,
    testset: TestSetVersion,
    *,
    progress: Progress,
) -> Scored | Rejected:
    """Produce and score the predictions of a submission (a detached snapshot)."""
    path = stored_file(settings, submission)
    try:
        if path is None or not path.exists():
            raise ScoringError(FILE_MISSING)
        truth = testsets.load_truth(settings, testset)
        provider: str | None = None
        seconds: float | None = None
        if submission.kind is SubmissionKind.PREDICTIONS:
            predictions = _parse_file(settings, path, truth, submission.filename)
        else:
            result = run_model_submission(
                settings, submission, phase, testset, path, progress=progress
            )
            predictions = result.predictions
            provider, seconds = result.execution_provider, result.seconds
        reports = _score_splits(settings, phase, testset, truth, predictions)
        # Kept for the score and rank intervals, computed in the background
        # (``app.services.standings_job``): they cost ~100 times the scoring itself.
        intervals.keep_predictions(settings, submission.id, predictions)
    except ScoringError as exc:
        log.info("submission %s rejected: %s", submission.id, exc)
        message = participant_message(exc) if isinstance(exc, ModelRejected) else str(exc)
        # A file rejected on its first evaluation is not kept; one that was scored before and
        # fails on a re-run (e.g. against a new test-set version) is kept for the next re-run.
        return Rejected(message, drop_file=submission.testset_fingerprint is None)
    except Exception:
        log.exception("submission %s: evaluation crashed", submission.id)
        return Rejected(INTERNAL_ERROR, drop_file=False)
    return Scored(reports, len(truth), provider, seconds)
