"""Score intervals: computed once after a submission is scored, stored, read for display.

Each split separately, seeded with ``interval_seed(submission id, test-set fingerprint)`` so
that a rescore reproduces them. 1,000 resamples of 1,978 items cost several times the
scoring itself (``bench/bench_inline_intervals.py``), so they are not computed inside the
upload request: the evaluation keeps the predictions (``predictions/<id>.npy``) and the
phase's background recomputation (``app.services.standings_job``) fills in every missing
interval before the rank intervals, in the interval process
(``app.services.interval_process``). Until then views say "computing…".
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.config import Settings
from app.services import interval_process
from app.services.stored_scores import NOT_AVAILABLE, SCORE_LIMIT
from scoring.groups import SCORE_NAMES
from scoring.testset import TestSet
from scoring.uncertainty import DEFAULT_LEVEL, interval_seed, score_intervals

INTERVAL_LEVEL = DEFAULT_LEVEL
UNREADABLE_INTERVALS = "the stored score intervals are unreadable"
NOT_COMPUTED = "not computed for this submission (its predictions were not kept)"
COMPUTING = "computing…"


def compute(
    truth: TestSet, predictions: npt.NDArray[np.float64], *, submission_id: int
) -> dict[str, Any]:
    """The stored form of one split's intervals: level, resamples, seed and the bounds."""
    seed = interval_seed(submission_id, truth.fingerprint())
    labels = interval_process.Labels.of(truth)
    result = interval_process.call(score_intervals, labels, predictions, seed=seed)
    return {
        "level": result.level,
        "n_resamples": result.n_resamples,
        "seed": result.seed,
        "intervals": result.as_json(),
    }


@dataclass(frozen=True)
class ReadIntervals:
    """``{score: [low, high] | None}`` as a view may show it, or None with ``note`` saying why."""

    intervals: dict[str, list[float] | None] | None
    note: str | None = None


def _bounds(value: Any) -> list[float] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError
    low, high = value
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            raise ValueError
        if not math.isfinite(bound) or not 0.0 <= bound <= SCORE_LIMIT:
            raise ValueError
    if low > high:
        raise ValueError
    return [float(low), float(high)]


def read_intervals(stored: Any) -> ReadIntervals:
    """Stored intervals checked for display: anything malformed is n/a, never an error."""
    if stored is None:
        return ReadIntervals(None, COMPUTING)
    if isinstance(stored, dict) and "unavailable" in stored:
        return ReadIntervals(None, NOT_AVAILABLE.format(reason=NOT_COMPUTED))
    try:
        bounds = stored["intervals"]
        return ReadIntervals({name: _bounds(bounds[name]) for name in SCORE_NAMES})
    except (TypeError, KeyError, ValueError, IndexError):
        return ReadIntervals(None, NOT_AVAILABLE.format(reason=UNREADABLE_INTERVALS))


UNAVAILABLE: dict[str, Any] = {"unavailable": "predictions not kept"}
"""Stored instead of intervals when they cannot be computed, so they are not tried again."""


def predictions_path(settings: Settings, submission_id: int) -> Path:
    """Where a scored submission's predictions (aligned to its test set) are kept."""
    return settings.data_dir / "predictions" / f"{submission_id}.npy"


def keep_predictions(
    settings: Settings, submission_id: int, predictions: npt.NDArray[np.float64]
) -> None:
    """Store the predictions for rank intervals (written aside, then renamed into place)."""
    place_predictions(settings, submission_id, write_aside(settings, predictions))


def write_aside(settings: Settings, predictions: npt.NDArray[np.float64]) -> Path:
    """Write predictions under a name of their own, before their submission has an id.

    The upload of a prediction file writes them before its writer's turn
    (``app.jobs.intake.WriterTurn``): under load the write took a fifth of the turn, which
    every other upload waits for. :func:`place_predictions` renames them into place (one
    system call, in the turn); :func:`discard_aside` removes them when the upload is refused.
    """
    folder = settings.data_dir / "predictions"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"pending-{secrets.token_hex(8)}.partial.npy"
    try:
        np.save(path, np.asarray(predictions, dtype=np.float64))
    except BaseException:
        path.unlink(missing_ok=True)  # a full disk leaves nothing half-written behind
        raise
    return path


def place_predictions(settings: Settings, submission_id: int, aside: Path) -> None:
    """Predictions written aside (:func:`write_aside`), kept as the submission's."""
    aside.replace(predictions_path(settings, submission_id))


def discard_aside(aside: Path) -> None:
    """Predictions written aside for an upload that was refused."""
    aside.unlink(missing_ok=True)


def load_predictions(settings: Settings, submission_id: int, n_items: int) -> np.ndarray | None:
    """The kept predictions, or None when missing, unreadable or of another test set's size."""
    try:
        values = np.load(predictions_path(settings, submission_id), allow_pickle=False)
    except (OSError, ValueError):
        return None
    if values.dtype != np.float64 or values.shape != (n_items,) or not np.isfinite(values).all():
        return None
    return values
