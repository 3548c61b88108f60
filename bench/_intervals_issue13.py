"""Frozen copy of the issue-13 score intervals, the "before" side of ``bench_intervals.py``.

Commit d4f4097's ``resample_indices`` (a clamp pass, the index matrix, then a gather of the
errors) and its scoring of the replicates (all of them at once: a boolean-mask row selection
and a column sum per group). Only what issue 15 changed is copied; the rest is imported.
Not app code: nothing but the benches imports it. It gives the same intervals as
:func:`scoring.uncertainty.score_intervals` (``bench_intervals.py`` checks it).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from scoring.groups import ATTRIBUTES, SCORE_NAMES
from scoring.metrics import GroundTruth, score
from scoring.uncertainty.resampling import (
    DEFAULT_LEVEL,
    DEFAULT_RESAMPLES,
    check_options,
    joint_strata,
)
from scoring.uncertainty.scores import ScoreIntervals, pairwise_gaps


def resample_indices(
    strata: npt.ArrayLike, n_resamples: int, rng: np.random.Generator
) -> npt.NDArray[np.intp]:
    """Issue 13's ``resample_indices``."""
    codes = np.asarray(strata, dtype=np.intp)
    order = np.argsort(codes, kind="stable")
    _, starts, sizes = np.unique(codes[order], return_index=True, return_counts=True)
    stratum_of_column = np.repeat(np.arange(len(sizes)), sizes)
    column_start = starts[stratum_of_column]
    column_size = sizes[stratum_of_column]
    offsets = (rng.random((n_resamples, len(codes))) * column_size).astype(np.intp)
    np.minimum(offsets, column_size - 1, out=offsets)
    offsets += column_start
    result: npt.NDArray[np.intp] = order[offsets]
    return result


def _fixed_group_sums(
    error_by_item: npt.NDArray[np.float64], column_codes: npt.NDArray[np.intp], n_groups: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    n_resamples = error_by_item.shape[1]
    row_sizes = np.bincount(column_codes, minlength=n_groups)
    sums = np.zeros((n_resamples, n_groups))
    for group in np.flatnonzero(row_sizes):
        sums[:, group] = error_by_item[column_codes == group].sum(axis=0)
    return np.broadcast_to(row_sizes, (n_resamples, n_groups)), sums


def replicate_columns(
    testset: GroundTruth, absolute_error: npt.NDArray[np.float64], indices: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    """The five scores of every row of a stratified index matrix, one column per score."""
    n_resamples = indices.shape[0]
    resampled_error = absolute_error[indices]
    scores = {"mae": resampled_error.mean(axis=1)}
    error_by_item = absolute_error[indices.T]
    for attribute in ATTRIBUTES:
        n_groups = len(attribute.groups)
        codes = testset.group_codes(attribute.name)[indices[:1]]
        counts, sums = _fixed_group_sums(error_by_item, codes[0], n_groups)
        group_maes = np.full((n_resamples, n_groups), np.nan)
        np.divide(sums, counts, out=group_maes, where=counts > 0)
        scores[attribute.score] = pairwise_gaps(group_maes)
    return np.column_stack([scores[name] for name in SCORE_NAMES])


def score_intervals(
    testset: GroundTruth,
    predictions: npt.NDArray[np.float64],
    *,
    seed: int,
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
) -> ScoreIntervals:
    """Issue 13's ``score_intervals``, for test sets whose replicates fit in one chunk."""
    check_options(n_resamples, level, seed)
    point = score(testset, predictions).scores()
    absolute_error = np.abs(np.asarray(predictions, dtype=np.float64) - testset.age)
    indices = resample_indices(joint_strata(testset), n_resamples, np.random.default_rng(seed))
    columns = replicate_columns(testset, absolute_error, indices)
    return ScoreIntervals.of_replicates(point, columns, level=level, seed=seed)
