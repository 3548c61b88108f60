"""Bootstrap intervals of leaderboard ranks: a paired bootstrap over all entries (issue 13).

Paired: one replicate resamples the test items once and rescores every entry on those same
items, so a replicate is a leaderboard that could have been. Each replicate is ranked exactly
as :func:`scoring.ranking.rank_entries` ranks (column ranks with the same tie policy and
tolerance, undefined scores last, the weighted mean of the column ranks), vectorised over
replicates: :func:`rank_matrix` ranks an ``(R, entries)`` matrix at once.

A replicate's **position** of an entry is a range, not a number: entries with equal Rankings
share ``[1 + #entries strictly ahead, #entries ahead or level]`` (the point leaderboard orders
them by submission time, which is no evidence of being better). An entry's position interval
``[best, worst]`` runs from the low percentile of its best positions to the high percentile
of its worst ones, so two identical submissions always overlap.

The replicate scores of all entries come from item counts: with ``C`` the ``(R, n)`` matrix
of how often each item was drawn, the error sums of group ``g`` for all entries and replicates
are one matrix product ``C[:, g] @ errors[:, g].T`` (four full products in all, in BLAS).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt

import scoring.uncertainty.resampling as bootstrap
from scoring.errors import MetricInputError, excerpt
from scoring.groups import ATTRIBUTES, SCORE_NAMES
from scoring.metrics import GroundTruth, score
from scoring.ranking import (
    DEFAULT_TOLERANCE,
    LEADERBOARD_COLUMNS,
    Column,
    RankEntry,
    RankingError,
    TiePolicy,
    rank_entries,
    rank_values,
)
from scoring.uncertainty.scores import pairwise_gaps

__all__ = [
    "ENTRY_PREDICTIONS",
    "KEYS_MISMATCH",
    "NOT_A_MATRIX",
    "RAGGED_MATRIX",
    "UNKNOWN_COLUMN",
    "RankInterval",
    "rank_intervals",
    "rank_matrix",
    "tied_neighbours",
]

NOT_A_MATRIX: Final = "predictions must be an (entries × items) matrix, got shape {shape}"
RAGGED_MATRIX: Final = "predictions must be an (entries × items) matrix; its rows differ in length"
KEYS_MISMATCH: Final = "{name} has {found} values but predictions has {expected} entries"
ENTRY_PREDICTIONS: Final = "entry {key}: {message}"
UNKNOWN_COLUMN: Final = "column {name!r} is not a score; expected one of: {known}"


@dataclass(frozen=True)
class RankInterval:
    """One leaderboard row with its uncertainty (rows are returned in leaderboard order).

    ``position``, ``ranking`` and ``ranks`` are the point leaderboard's (as
    :func:`~scoring.ranking.rank_entries` gives them); ``rank_intervals[column]`` is the
    ``(low, high)`` interval of the column rank and ``position_interval`` the ``(best, worst)``
    interval of the overall position; ``tied_with_neighbour`` says that it overlaps the
    position interval of the row just above or just below.
    """

    key: Hashable
    position: int
    ranking: float
    ranks: dict[str, float]
    rank_intervals: dict[str, tuple[float, float]]
    position_interval: tuple[int, int]
    tied_with_neighbour: bool


def _tie_blocks(
    ordered: npt.NDArray[np.float64], tolerance: float
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Block number, first and last column of each cell's tie block, rows sorted ascending.

    A value joins the current block when within ``tolerance`` of the block's first value (the
    rule of :func:`scoring.ranking.rank_values`); NaNs, sorted last, form one block.
    """
    n_rows, n_entries = ordered.shape
    starts = np.ones((n_rows, n_entries), dtype=bool)
    if tolerance == 0.0:
        starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    else:
        # The rule depends on each block's first value: one pass over the columns, all rows at
        # once (a loop over entries, not over replicates).
        first = ordered[:, 0].copy()
        for column in range(1, n_entries):
            value = ordered[:, column]
            new = ~((value == first) | (value - first <= tolerance))
            starts[:, column] = new
            np.copyto(first, value, where=new)
    positions = np.arange(n_entries, dtype=np.intp)
    n_defined = (~np.isnan(ordered)).sum(axis=1)[:, None]
    starts = np.where(positions >= n_defined, positions == n_defined, starts)
    block = np.cumsum(starts, axis=1, dtype=np.intp) - 1
    block_first = np.maximum.accumulate(np.where(starts, positions, 0), axis=1)
    ends = np.ones_like(starts)
    ends[:, :-1] = starts[:, 1:]
    reversed_last = np.where(ends, positions, n_entries - 1)[:, ::-1]
    block_last = np.minimum.accumulate(reversed_last, axis=1)[:, ::-1]
    return block, block_first, block_last


def rank_matrix(
    values: npt.ArrayLike,
    *,
    lower_is_better: bool = True,
    ties: TiePolicy = "dense",
    tolerance: float = DEFAULT_TOLERANCE,
) -> npt.NDArray[np.float64]:
    """:func:`scoring.ranking.rank_values` applied to every row of a 2-D array (NaN: undefined).

    Example:
        >>> rank_matrix([[0.3, 0.1, np.nan, 0.1], [1.0, 2.0, 3.0, 4.0]], ties="min").tolist()
        [[3.0, 1.0, 4.0, 1.0], [1.0, 2.0, 3.0, 4.0]]
    """
    rank_values([], ties=ties, tolerance=tolerance)  # checks ties and tolerance
    signed = np.asarray(values, dtype=np.float64) * (1.0 if lower_is_better else -1.0)
    order = np.argsort(signed, axis=1, kind="stable")
    block, first, last = _tie_blocks(np.take_along_axis(signed, order, axis=1), tolerance)
    if ties == "dense":
        sorted_ranks = block + 1.0
    elif ties == "min":
        sorted_ranks = first + 1.0
    else:
        sorted_ranks = (first + last) / 2.0 + 1.0
    ranks = np.empty_like(sorted_ranks)
    np.put_along_axis(ranks, order, sorted_ranks, axis=1)
    return ranks


def tied_neighbours(intervals: Sequence[tuple[float, float]]) -> list[bool]:
    """For rows in leaderboard order: does the row's interval overlap the one above or below?

    Example:
        >>> tied_neighbours([(1, 1), (2, 3), (3, 4), (5, 5)])
        [False, True, True, False]
    """

    def overlap(first: tuple[float, float], second: tuple[float, float]) -> bool:
        return first[0] <= second[1] and second[0] <= first[1]

    return [
        (index > 0 and overlap(intervals[index - 1], bounds))
        or (index + 1 < len(intervals) and overlap(bounds, intervals[index + 1]))
        for index, bounds in enumerate(intervals)
    ]


def _check_inputs(
    predictions: npt.ArrayLike, keys: Sequence[Hashable], orders: Sequence[Any]
) -> np.ndarray:
    """The predictions as a 2-D array with a row per key (rows are checked by ``score``)."""
    try:
        matrix = np.asarray(predictions)
    except ValueError:  # numpy refuses rows of different lengths
        raise MetricInputError(RAGGED_MATRIX) from None
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise MetricInputError(NOT_A_MATRIX.format(shape=matrix.shape))
    for name, given in (("keys", keys), ("orders", orders)):
        if len(given) != matrix.shape[0]:
            raise MetricInputError(
                KEYS_MISMATCH.format(name=name, found=len(given), expected=matrix.shape[0])
            )
    return matrix


def _point_scores(
    testset: GroundTruth, matrix: np.ndarray, keys: Sequence[Hashable]
) -> list[dict[str, float | None]]:
    reports = []
    for key, row in zip(keys, matrix, strict=True):
        try:
            reports.append(score(testset, row).scores())
        except MetricInputError as error:
            message = ENTRY_PREDICTIONS.format(key=excerpt(repr(key)), message=error)
            raise MetricInputError(message) from None
    return reports


def _replicate_scores(
    testset: GroundTruth, errors: npt.NDArray[np.float64], counts: npt.NDArray[np.float64]
) -> dict[str, npt.NDArray[np.float64]]:
    """``{score: (R, entries)}`` for item-count rows ``counts`` (R × n) and ``errors`` (E × n)."""
    n_items = errors.shape[1]
    result: dict[str, npt.NDArray[np.float64]] = {}
    for attribute in ATTRIBUTES:
        codes = testset.group_codes(attribute.name)
        sums, sizes = [], []
        for group in range(len(attribute.groups)):
            members = np.flatnonzero(codes == group)
            sums.append(counts[:, members] @ errors[:, members].T)
            sizes.append(counts[:, members].sum(axis=1))
        group_sums = np.stack(sums, axis=-1)
        group_sizes = np.stack(sizes, axis=-1)[:, None, :]
        group_maes = np.full(group_sums.shape, np.nan)
        np.divide(group_sums, group_sizes, out=group_maes, where=group_sizes > 0)
        result[attribute.score] = pairwise_gaps(group_maes)
        if "mae" not in result:
            result["mae"] = group_sums.sum(axis=-1) / n_items
    return result


def rank_intervals(
    testset: GroundTruth,
    predictions: npt.ArrayLike,
    *,
    keys: Sequence[Hashable],
    seed: int,
    orders: Sequence[Any] | None = None,
    columns: Sequence[Column] = LEADERBOARD_COLUMNS,
    ties: TiePolicy = "dense",
    tolerance: float = DEFAULT_TOLERANCE,
    n_resamples: int = bootstrap.DEFAULT_RESAMPLES,
    level: float = bootstrap.DEFAULT_LEVEL,
    max_chunk_elements: int = bootstrap.DEFAULT_CHUNK_ELEMENTS,
) -> list[RankInterval]:
    """Rank and position intervals of every entry, rows in leaderboard order (issue 13).

    ``predictions`` is an ``(entries × items)`` matrix aligned to ``testset`` (the split the
    leaderboard shows); ``keys`` name the entries and ``orders`` break Ranking ties as
    ``RankEntry.order`` does (default: the row order). ``columns``, ``ties`` and ``tolerance``
    are :func:`scoring.ranking.rank_entries`'s; the point rows are exactly its result.

    Example:
        >>> from scoring.synthetic import make_labels
        >>> truth = make_labels(n=300, seed=1)
        >>> noise = np.random.default_rng(2).normal(0.0, 1.0, len(truth))
        >>> rows = rank_intervals(truth, [truth.age + 9 * noise, truth.age + 2 * noise,
        ...                               truth.age + 2 * noise], keys=["x", "y", "z"],
        ...                       seed=5, n_resamples=100)
        >>> [(row.key, row.position, row.position_interval, row.tied_with_neighbour)
        ...  for row in rows]
        [('y', 1, (1, 2), True), ('z', 2, (1, 2), True), ('x', 3, (3, 3), False)]
    """
    bootstrap.check_options(n_resamples, level, seed)
    tie_orders = list(range(len(keys))) if orders is None else list(orders)
    given = _check_inputs(predictions, keys, tie_orders)
    for column in columns:
        if column.name not in SCORE_NAMES:
            known = ", ".join(SCORE_NAMES)
            raise RankingError(UNKNOWN_COLUMN.format(name=excerpt(column.name), known=known))
    point_scores = _point_scores(testset, given, keys)
    matrix = given.astype(np.float64)  # safe: every row passed score()'s checks
    entries = [
        RankEntry(index, scores, order)
        for index, (scores, order) in enumerate(zip(point_scores, tie_orders, strict=True))
    ]
    point = rank_entries(entries, columns=columns, ties=ties, tolerance=tolerance)

    replicate_ranks, best, worst = _replicate_ranks(
        testset, matrix, columns, ties, tolerance, seed, n_resamples, max_chunk_elements
    )
    # Every array from here on is in leaderboard order.
    index = np.array([cast(int, row.key) for row in point], dtype=np.intp)
    positions = [row.position for row in point]
    best_low, _ = bootstrap.percentile_bounds(best[:, index], level, positions, discrete=True)
    _, worst_high = bootstrap.percentile_bounds(worst[:, index], level, positions, discrete=True)
    column_bounds = {
        column.name: bootstrap.percentile_bounds(
            replicate_ranks[column.name][:, index],
            level,
            [row.ranks[column.name] for row in point],
            discrete=True,
        )
        for column in columns
    }
    intervals = [(int(low), int(high)) for low, high in zip(best_low, worst_high, strict=True)]
    return [
        RankInterval(
            key=keys[cast(int, row.key)],
            position=row.position,
            ranking=row.ranking,
            ranks=row.ranks,
            rank_intervals={
                name: (float(low[place]), float(high[place]))
                for name, (low, high) in column_bounds.items()
            },
            position_interval=intervals[place],
            tied_with_neighbour=tied,
        )
        for place, (row, tied) in enumerate(zip(point, tied_neighbours(intervals), strict=True))
    ]


def _replicate_ranks(
    testset: GroundTruth,
    matrix: npt.NDArray[np.float64],
    columns: Sequence[Column],
    ties: TiePolicy,
    tolerance: float,
    seed: int,
    n_resamples: int,
    max_chunk_elements: int,
) -> tuple[dict[str, npt.NDArray[np.float64]], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Column ranks, best and worst positions of every (replicate, entry), entries in row order."""
    errors = np.abs(matrix - np.asarray(testset.age)[None, :])
    n_entries, n_items = errors.shape
    chunks: list[dict[str, npt.NDArray[np.float64]]] = []
    for indices in bootstrap.replicate_chunks(
        testset,
        n_resamples,
        seed,
        # The largest arrays per replicate: counts (items) and pairwise gaps (entries × 6).
        cells_per_resample=max(n_items, 8 * n_entries),
        max_cells=max_chunk_elements,
    ):
        size = len(indices)
        rows = np.arange(size, dtype=np.intp)[:, None] * n_items
        counts = np.bincount((indices + rows).ravel(), minlength=size * n_items)
        chunks.append(
            _replicate_scores(testset, errors, counts.reshape(size, n_items).astype(np.float64))
        )
    replicate_ranks = {
        column.name: rank_matrix(
            np.concatenate([chunk[column.name] for chunk in chunks]),
            lower_is_better=column.lower_is_better,
            ties=ties,
            tolerance=tolerance,
        )
        for column in columns
    }
    # Sorting the weighted terms first makes equal multisets of ranks sum to equal Rankings.
    terms = np.stack([column.weight * replicate_ranks[column.name] for column in columns], -1)
    total_weight = math.fsum(column.weight for column in columns)
    rankings = np.sort(terms, axis=-1).sum(axis=-1) / total_weight
    order = np.argsort(rankings, axis=1, kind="stable")
    _, first, last = _tie_blocks(np.take_along_axis(rankings, order, axis=1), 0.0)
    best, worst = np.empty_like(first), np.empty_like(last)
    np.put_along_axis(best, order, first + 1, axis=1)
    np.put_along_axis(worst, order, last + 1, axis=1)
    return replicate_ranks, best, worst
