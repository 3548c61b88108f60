"""Bootstrap intervals of the five scores of one submission (issue 13, SPEC §3).

Vectorised over replicates: the replicates' items are one ``(R, n)`` index matrix, the group
sums of all replicates are one weighted ``np.bincount`` per attribute over flattened
``(replicate, group)`` codes (or, for stratified rows, whose columns keep their groups, one
column-wise sum per group of the item-major matrix: the same additions, a third of the time),
and the biases are derived from the group MAEs as :func:`scoring.metrics.score` derives them.
Group MAEs and the MAE are bit-equal to ``score`` on each replicate's items. Replicates are
drawn in chunks of at most :data:`~scoring.uncertainty.resampling.DEFAULT_CHUNK_ELEMENTS`
cells, so memory stays bounded for any test-set size; the result does not depend on the chunk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.groups import ATTRIBUTES, SCORE_NAMES
from scoring.metrics import GroundTruth, score
from scoring.uncertainty.resampling import (
    DEFAULT_CHUNK_ELEMENTS,
    DEFAULT_LEVEL,
    DEFAULT_RESAMPLES,
    check_options,
    percentile_bounds,
    replicate_chunks,
)

__all__ = [
    "ReplicateScores",
    "ScoreIntervals",
    "pairwise_gaps",
    "replicate_scores",
    "score_intervals",
]


@dataclass(frozen=True)
class ReplicateScores:
    """The scores of every replicate: ``scores[name]`` is an ``(R,)`` array (NaN: undefined),
    ``group_sizes[attribute]`` and ``group_maes[attribute]`` are ``(R, n_groups)`` arrays.
    """

    scores: Mapping[str, npt.NDArray[np.float64]]
    group_sizes: Mapping[str, npt.NDArray[np.intp]]
    group_maes: Mapping[str, npt.NDArray[np.float64]]


@dataclass(frozen=True)
class ScoreIntervals:
    """Percentile bootstrap intervals of the five scores of one submission on one split.

    ``intervals[name]`` is ``(low, high)``, or ``None`` where the score itself is undefined
    (a bias with fewer than two non-empty groups). ``seed`` and ``n_resamples`` reproduce it.

    Example:
        >>> ScoreIntervals(0.95, 1000, 7, {"mae": (4.1, 4.6)}).as_json()
        {'mae': [4.1, 4.6]}
    """

    level: float
    n_resamples: int
    seed: int
    intervals: Mapping[str, tuple[float, float] | None]

    def as_json(self) -> dict[str, list[float] | None]:
        """``{score: [low, high] or None}``, the shape of the API's ``intervals`` field."""
        return {
            name: None if bounds is None else [bounds[0], bounds[1]]
            for name, bounds in self.intervals.items()
        }


def pairwise_gaps(group_maes: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """:func:`scoring.metrics.pairwise_gap` along the last axis; NaN groups are left out.

    The result is NaN where fewer than two groups are defined. The gaps are summed in the
    order :func:`~scoring.metrics.pairwise_gap` lists them, but with plain float addition
    rather than ``math.fsum``, so the two can differ in the last bit.

    Example:
        >>> maes = np.array([[1.0, 2.0, 4.0], [1.0, np.nan, 3.0], [1.0, np.nan, np.nan]])
        >>> pairwise_gaps(maes).tolist()
        [2.0, 2.0, nan]
    """
    first, second = np.triu_indices(group_maes.shape[-1], k=1)
    gaps = np.abs(group_maes[..., first] - group_maes[..., second])
    defined = ~np.isnan(gaps)
    count = defined.sum(axis=-1)
    total = np.where(defined, gaps, 0.0).sum(axis=-1)
    result: npt.NDArray[np.float64] = np.full(total.shape, np.nan)
    np.divide(total, count, out=result, where=count > 0)
    return result


def _absolute_error(testset: GroundTruth, predictions: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Absolute errors of predictions already validated by :func:`scoring.metrics.score`."""
    error: npt.NDArray[np.float64] = np.abs(
        np.asarray(predictions, dtype=np.float64).reshape(-1) - np.asarray(testset.age)
    )
    return error


def _group_sums(
    resampled_error: npt.NDArray[np.float64], codes: npt.NDArray[np.intp], n_groups: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Group sizes and error sums per replicate, ``codes`` being the ``(R, n)`` group codes."""
    n_resamples = codes.shape[0]
    # One bincount for all replicates: replicate r's group g is bin r * n_groups + g.
    flat = (codes + np.arange(n_resamples, dtype=np.intp)[:, None] * n_groups).ravel()
    length = n_resamples * n_groups
    counts = np.bincount(flat, minlength=length).reshape(n_resamples, n_groups)
    sums = np.bincount(flat, weights=resampled_error.ravel(), minlength=length)
    return (
        counts.astype(np.intp, copy=False),
        sums.astype(np.float64, copy=False).reshape(n_resamples, n_groups),
    )


def _fixed_group_sums(
    error_by_item: npt.NDArray[np.float64], column_codes: npt.NDArray[np.intp], n_groups: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Group sizes and error sums per replicate when item ``j`` is in group ``column_codes[j]``.

    ``error_by_item`` is ``(n, R)``, C-ordered: reducing its rows adds them one after the
    other, vectorised over replicates (``np.sum`` along a contiguous axis would add pairwise),
    so each replicate's group sum is the same sequence of additions as a bincount's.
    """
    n_resamples = error_by_item.shape[1]
    row_sizes = np.bincount(column_codes, minlength=n_groups)
    sums = np.zeros((n_resamples, n_groups))
    for group in np.flatnonzero(row_sizes):
        sums[:, group] = error_by_item[column_codes == group].sum(axis=0)
    return np.broadcast_to(row_sizes, (n_resamples, n_groups)), sums


def _replicates(
    testset: GroundTruth,
    absolute_error: npt.NDArray[np.float64],
    indices: npt.NDArray[np.intp],
    *,
    stratified: bool = False,
) -> ReplicateScores:
    n_resamples = indices.shape[0]
    resampled_error = absolute_error[indices]
    scores = {"mae": resampled_error.mean(axis=1)}
    sizes: dict[str, npt.NDArray[np.intp]] = {}
    maes: dict[str, npt.NDArray[np.float64]] = {}
    # Item-major for the fixed-group sums (a second gather is cheaper than a transpose).
    error_by_item = absolute_error[indices.T] if stratified else None
    for attribute in ATTRIBUTES:
        n_groups = len(attribute.groups)
        codes = testset.group_codes(attribute.name)[indices[:1] if stratified else indices]
        counts, sums = (
            _fixed_group_sums(error_by_item, codes[0], n_groups)
            if error_by_item is not None
            else _group_sums(resampled_error, codes, n_groups)
        )
        group_maes = np.full((n_resamples, n_groups), np.nan)
        np.divide(sums, counts, out=group_maes, where=counts > 0)
        sizes[attribute.name] = counts.astype(np.intp, copy=False)
        maes[attribute.name] = group_maes
        scores[attribute.score] = pairwise_gaps(group_maes)
    return ReplicateScores(scores=scores, group_sizes=sizes, group_maes=maes)


def replicate_scores(
    testset: GroundTruth,
    predictions: npt.ArrayLike,
    indices: npt.ArrayLike,
    *,
    stratified: bool = False,
) -> ReplicateScores:
    """The five scores of each row of ``indices`` (an ``(R, n)`` matrix of item indices).

    Row ``r`` scores the items ``indices[r]``, in that order: its MAE and group MAEs are
    bit-equal to :func:`scoring.metrics.score` on that subset; its biases agree to rounding.
    ``stratified=True`` says that the rows come from
    :func:`~scoring.uncertainty.resampling.resample_indices` over
    :func:`~scoring.uncertainty.resampling.joint_strata` (as in :func:`score_intervals`):
    every column then stays in one group of each attribute, which a faster path uses.

    Example:
        >>> from scoring.testset import TestSet
        >>> ts = TestSet(ids=("a", "b"), age=[20.0, 70.0], gender=["female", "male"],
        ...              ethnicity=["asian"] * 2, expression=["happy"] * 2)
        >>> result = replicate_scores(ts, [21.0, 73.0], [[0, 1], [1, 1]])
        >>> result.scores["mae"].tolist(), result.scores["gender_bias"].tolist()
        ([2.0, 3.0], [2.0, nan])
    """
    score(testset, predictions)  # validates, with the metrics' messages
    matrix = np.asarray(indices, dtype=np.intp)
    return _replicates(
        testset, _absolute_error(testset, predictions), matrix, stratified=stratified
    )


def score_intervals(
    testset: GroundTruth,
    predictions: npt.ArrayLike,
    *,
    seed: int,
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    max_chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
) -> ScoreIntervals:
    """Stratified percentile bootstrap intervals of the five scores (issue 13).

    ``testset`` is the split the scores are for (``TestSet.subset`` of the public or private
    mask); ``predictions`` are aligned to it as for :func:`scoring.metrics.score`, which
    validates them with its messages. ``seed`` comes from
    :func:`~scoring.uncertainty.interval_seed`. Items are resampled within their joint
    group cells (see :mod:`scoring.uncertainty.resampling`); each interval is widened to
    contain its point estimate when needed. Exact predictions give ``(0.0, 0.0)``.

    Example:
        >>> from scoring.synthetic import make_labels
        >>> truth = make_labels(n=400, seed=1)
        >>> guesses = truth.age + np.random.default_rng(2).normal(0.0, 5.0, len(truth))
        >>> result = score_intervals(truth, guesses, seed=3, n_resamples=200)
        >>> low, high = result.intervals["mae"]
        >>> bool(low < score(truth, guesses).mae < high), round(high - low, 1)
        (True, 0.5)
    """
    check_options(n_resamples, level, seed)
    point = score(testset, predictions).scores()
    absolute_error = _absolute_error(testset, predictions)
    columns: list[npt.NDArray[np.float64]] = []
    for indices in replicate_chunks(
        testset,
        n_resamples,
        seed,
        cells_per_resample=len(absolute_error),
        max_cells=max_chunk_elements,
    ):
        replicates = _replicates(testset, absolute_error, indices, stratified=True)
        columns.append(np.column_stack([replicates.scores[name] for name in SCORE_NAMES]))
    estimates = np.array([np.nan if point[name] is None else point[name] for name in SCORE_NAMES])
    low, high = percentile_bounds(np.concatenate(columns), level, estimates)
    intervals: dict[str, tuple[float, float] | None] = {
        name: None if point[name] is None else (float(low[index]), float(high[index]))
        for index, name in enumerate(SCORE_NAMES)
    }
    return ScoreIntervals(level=level, n_resamples=n_resamples, seed=seed, intervals=intervals)
