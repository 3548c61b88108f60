"""Bootstrap intervals of the five scores of one submission (issue 13, SPEC §3).

Vectorised over replicates. Stratified rows (every column stays in its groups, as in
:func:`score_intervals`) are drawn and scored a block of
:data:`~scoring.uncertainty.resampling.BLOCK_CELLS` cells at a time, so that the block's copies
stay in cache: its errors are gathered straight from the draws, its MAEs are row means, and its
group sums are column sums of the item-major block, each group's rows in their order (the
additions of a bincount over each replicate's items). Other rows take one weighted
``np.bincount`` per attribute over flattened ``(replicate, group)`` codes. The biases are
derived from the group MAEs as :func:`scoring.metrics.score` derives them. Group MAEs and the
MAE are bit-equal to ``score`` on each replicate's items, for any block or chunk size
(``tests/scoring/test_interval_goldens.py`` pins the intervals bit for bit); memory stays
bounded for any test-set size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.groups import ATTRIBUTES, ATTRIBUTES_BY_NAME, SCORE_NAMES
from scoring.metrics import GroundTruth, score
from scoring.uncertainty.resampling import (
    BLOCK_CELLS,
    DEFAULT_CHUNK_ELEMENTS,
    DEFAULT_LEVEL,
    DEFAULT_RESAMPLES,
    StratifiedDraws,
    check_options,
    chunk_sizes,
    joint_strata,
    percentile_bounds,
)

__all__ = [
    "ReplicateScores",
    "ScoreIntervals",
    "bootstrap_replicates",
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

    @classmethod
    def of_replicates(
        cls,
        point: Mapping[str, float | None],
        replicates: npt.NDArray[np.float64],
        *,
        level: float,
        seed: int,
    ) -> ScoreIntervals:
        """The percentile intervals of ``replicates`` (one row a replicate, one column a score
        in :data:`~scoring.groups.SCORE_NAMES` order) around the ``point`` scores.

        Example:
            >>> point = {"mae": 2.0, "age_bias": None, "gender_bias": 0.0,
            ...          "ethnicity_bias": 1.0, "expression_bias": 1.0}
            >>> rows = np.array([[1.0, np.nan, 1.0, 1.0, 1.0], [3.0, np.nan, 2.0, 1.0, 1.0]])
            >>> ScoreIntervals.of_replicates(point, rows, level=0.5, seed=7).as_json()["mae"]
            [1.5, 2.5]
        """
        estimates = np.array(
            [np.nan if point[name] is None else point[name] for name in SCORE_NAMES]
        )
        low, high = percentile_bounds(replicates, level, estimates)
        intervals: dict[str, tuple[float, float] | None] = {
            name: None if point[name] is None else (float(low[index]), float(high[index]))
            for index, name in enumerate(SCORE_NAMES)
        }
        return cls(level=level, n_resamples=len(replicates), seed=seed, intervals=intervals)

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


@dataclass(frozen=True)
class _ColumnGroups:
    """The groups of one attribute when column ``j`` is in group ``codes[j]`` in every row.

    ``order`` lists the columns group by group, ascending within a group (None: they already
    are), and ``blocks`` gives each non-empty group's ``(group, start, stop)`` in that order.
    """

    codes: npt.NDArray[np.intp]
    sizes: npt.NDArray[np.intp]
    order: npt.NDArray[np.intp] | None
    blocks: tuple[tuple[int, int, int], ...]

    @classmethod
    def of(cls, codes: npt.NDArray[np.intp], n_groups: int) -> _ColumnGroups:
        sizes = np.bincount(codes, minlength=n_groups)
        stops = np.cumsum(sizes)
        in_order = bool((codes[1:] >= codes[:-1]).all())
        return cls(
            codes=codes,
            sizes=sizes,
            order=None if in_order else np.argsort(codes, kind="stable"),
            blocks=tuple(
                (int(group), int(stops[group] - sizes[group]), int(stops[group]))
                for group in np.flatnonzero(sizes)
            ),
        )

    def sums(self, error_by_item: npt.NDArray[np.float64], out: npt.NDArray[np.float64]) -> None:
        """Add each replicate's group error sums to ``out`` (``(R, n_groups)``, zeros).

        ``error_by_item`` is ``(n, R)``, C-ordered, its rows put group by group so that a
        group is a slice. With two replicates or more, reducing a slice adds its rows one after
        the other, vectorised over replicates: each replicate's sum is a bincount's sequence of
        additions. A single column would be summed pairwise (numpy drops its length-1 axis and
        reduces along the contiguous one, as ``np.add.reduceat`` always does), hence the
        bincount there.
        """
        if error_by_item.shape[1] == 1:
            out[0] = np.bincount(self.codes, weights=error_by_item[:, 0], minlength=out.shape[1])
            return
        rows = error_by_item if self.order is None else error_by_item.take(self.order, axis=0)
        for group, start, stop in self.blocks:
            out[:, group] = rows[start:stop].sum(axis=0)


def _scores(
    mae: npt.NDArray[np.float64],
    counts: Mapping[str, npt.NDArray[np.intp]],
    sums: Mapping[str, npt.NDArray[np.float64]],
) -> ReplicateScores:
    """Group MAEs and biases from group sizes and error sums, as ``metrics.score`` does."""
    scores = {"mae": mae}
    sizes: dict[str, npt.NDArray[np.intp]] = {}
    maes: dict[str, npt.NDArray[np.float64]] = {}
    for attribute in ATTRIBUTES:
        group_maes = np.full(sums[attribute.name].shape, np.nan)
        np.divide(
            sums[attribute.name],
            counts[attribute.name],
            out=group_maes,
            where=counts[attribute.name] > 0,
        )
        sizes[attribute.name] = counts[attribute.name]
        maes[attribute.name] = group_maes
        scores[attribute.score] = pairwise_gaps(group_maes)
    return ReplicateScores(scores=scores, group_sizes=sizes, group_maes=maes)


def _fixed_group_replicates(
    resampled_errors: Iterable[npt.NDArray[np.float64]],
    column_codes: Mapping[str, npt.NDArray[np.intp]],
    n_resamples: int,
) -> ReplicateScores:
    """The scores of ``n_resamples`` replicates given in ``(rows, n)`` blocks of resampled
    errors, column ``j`` being in group ``column_codes[attribute][j]`` in every row."""
    groups = {
        attribute.name: _ColumnGroups.of(column_codes[attribute.name], len(attribute.groups))
        for attribute in ATTRIBUTES
    }
    mae = np.empty(n_resamples)
    sums = {name: np.zeros((n_resamples, len(group.sizes))) for name, group in groups.items()}
    start = 0
    for block in resampled_errors:
        stop = start + len(block)
        mae[start:stop] = block.mean(axis=1)
        # Item-major, so that a group's items are rows; blocks small enough to stay in cache.
        error_by_item = np.ascontiguousarray(block.T)
        for name, group in groups.items():
            group.sums(error_by_item, sums[name][start:stop])
        start = stop
    counts = {
        name: np.broadcast_to(group.sizes.astype(np.intp), sums[name].shape)
        for name, group in groups.items()
    }
    return _scores(mae, counts, sums)


def _row_blocks(n_rows: int, cells_per_row: int) -> Iterator[slice]:
    """Consecutive row ranges of at most :data:`BLOCK_CELLS` cells (at least one row)."""
    start = 0
    for size in chunk_sizes(n_rows, cells_per_row, BLOCK_CELLS):
        yield slice(start, start + size)
        start += size


def _replicates(
    testset: GroundTruth,
    absolute_error: npt.NDArray[np.float64],
    indices: npt.NDArray[np.intp],
    *,
    stratified: bool = False,
) -> ReplicateScores:
    n_resamples, n_items = indices.shape
    if stratified:
        return _fixed_group_replicates(
            (absolute_error[indices[rows]] for rows in _row_blocks(n_resamples, n_items)),
            {name: testset.group_codes(name)[indices[0]] for name in ATTRIBUTES_BY_NAME},
            n_resamples,
        )
    resampled_error = absolute_error[indices]
    counts: dict[str, npt.NDArray[np.intp]] = {}
    sums: dict[str, npt.NDArray[np.float64]] = {}
    for attribute in ATTRIBUTES:
        codes = testset.group_codes(attribute.name)[indices]
        counts[attribute.name], sums[attribute.name] = _group_sums(
            resampled_error, codes, len(attribute.groups)
        )
    return _scores(resampled_error.mean(axis=1), counts, sums)


def _bootstrap(
    testset: GroundTruth,
    absolute_error: npt.NDArray[np.float64],
    *,
    seed: int,
    n_resamples: int,
    max_chunk_elements: int,
) -> ReplicateScores:
    """The replicates of :func:`score_intervals`, drawn and scored a cache-sized block at a time.

    The same rows as :func:`~scoring.uncertainty.resampling.replicate_chunks` (one uniform
    per cell, row by row), but the errors are gathered straight from the slots of the draws.
    """
    draws = StratifiedDraws.of(joint_strata(testset))
    error_by_slot = absolute_error[draws.slots]
    rng = np.random.default_rng(seed)
    cells = min(max_chunk_elements, BLOCK_CELLS)
    blocks = (
        error_by_slot[draws.slot_rows(size, rng)]
        for size in chunk_sizes(n_resamples, len(absolute_error), cells)
    )
    column_codes = {name: testset.group_codes(name)[draws.columns] for name in ATTRIBUTES_BY_NAME}
    return _fixed_group_replicates(blocks, column_codes, n_resamples)


def bootstrap_replicates(
    testset: GroundTruth,
    predictions: npt.ArrayLike,
    *,
    seed: int,
    n_resamples: int = DEFAULT_RESAMPLES,
    max_chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
) -> ReplicateScores:
    """The replicates whose percentiles :func:`score_intervals` gives, for the same options.

    Replicate ``r`` scores row ``r`` of the stacked
    :func:`~scoring.uncertainty.resampling.replicate_chunks`: its MAE and group MAEs are
    bit-equal to :func:`scoring.metrics.score` on those items, for any chunk size.

    Example:
        >>> from scoring.synthetic import make_labels
        >>> truth = make_labels(n=50, seed=1)
        >>> replicates = bootstrap_replicates(truth, truth.age + 1.0, seed=2, n_resamples=3)
        >>> replicates.scores["mae"].tolist(), replicates.group_sizes["gender"].shape
        ([1.0, 1.0, 1.0], (3, 2))
    """
    check_options(n_resamples, DEFAULT_LEVEL, seed)
    score(testset, predictions)  # validates, with the metrics' messages
    return _bootstrap(
        testset,
        _absolute_error(testset, predictions),
        seed=seed,
        n_resamples=n_resamples,
        max_chunk_elements=max_chunk_elements,
    )


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
    replicates = _bootstrap(
        testset,
        _absolute_error(testset, predictions),
        seed=seed,
        n_resamples=n_resamples,
        max_chunk_elements=max_chunk_elements,
    )
    columns = np.column_stack([replicates.scores[name] for name in SCORE_NAMES])
    return ScoreIntervals.of_replicates(point, columns, level=level, seed=seed)
