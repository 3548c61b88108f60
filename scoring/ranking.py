"""Leaderboard ranking (SPEC §6): per-column ranks, their weighted mean, and the row order.

This module is the one place ranking is computed; the service and the offline CLI both call
:func:`rank_entries`. It is pure: no I/O, no rounding, no formatting.

Ties within ``tolerance``: values are sorted, and a value joins the current tie group when it
is within ``tolerance`` of the group's *first* (best) value; otherwise it starts a new group.
So a chain ``a ≈ b ≈ c`` with ``a`` not ≈ ``c`` gives ``{a, b}`` one rank and ``c`` the next:
the grouping never depends on the input order and no group spans more than ``tolerance``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, Literal, get_args

from scoring.errors import ScoringError, excerpt

__all__ = [
    "DUPLICATE_COLUMN",
    "INVALID_TOLERANCE",
    "INVALID_WEIGHT",
    "LEADERBOARD_COLUMNS",
    "MISSING_SCORE",
    "NOT_A_SCORE",
    "NO_COLUMNS",
    "TIE_POLICIES",
    "UNKNOWN_TIE_POLICY",
    "Column",
    "RankEntry",
    "RankedEntry",
    "RankingError",
    "TiePolicy",
    "rank_entries",
    "rank_values",
]

TiePolicy = Literal["dense", "min", "average"]
TIE_POLICIES: tuple[str, ...] = get_args(TiePolicy)
DEFAULT_TOLERANCE = 1e-12

UNKNOWN_TIE_POLICY = "unknown tie policy {ties!r}; expected one of: dense, min, average"
INVALID_TOLERANCE = "tolerance must be a finite number >= 0, got {tolerance!r}"
NO_COLUMNS = "at least one column is needed to rank entries"
DUPLICATE_COLUMN = "column {name!r} is listed more than once"
INVALID_WEIGHT = "column {name!r} has weight {weight!r}; weights must be positive and finite"
MISSING_SCORE = "entry {key!r} has no score {column!r}"
NOT_A_SCORE = "entry {key!r} has {value} as its score {column!r}; expected a number or None"


class RankingError(ScoringError):
    """Bad ranking input: an unknown tie policy, bad columns or an entry missing a score."""


@dataclass(frozen=True)
class Column:
    """A ranked column: the score's name, its direction and its weight in the Ranking.

    Example:
        >>> Column("mae")
        Column(name='mae', lower_is_better=True, weight=1.0)
    """

    name: str
    lower_is_better: bool = True
    weight: float = 1.0


LEADERBOARD_COLUMNS: tuple[Column, ...] = (
    Column("gender_bias"),
    Column("expression_bias"),
    Column("ethnicity_bias"),
    Column("age_bias"),
    Column("mae"),
)
"""The five columns of SPEC §6 in leaderboard order, all lower-is-better, equal weights."""


@dataclass(frozen=True)
class RankEntry:
    """One leaderboard row to rank: a key, its scores by column name, and a tie order.

    ``order`` breaks ties in Ranking (smaller first, e.g. the submission time); all orders
    of one call must be comparable with each other. Equal orders keep the input order.

    Example:
        >>> RankEntry("team-a", {"mae": 6.0}, order=1).scores["mae"]
        6.0
    """

    key: Hashable
    scores: Mapping[str, float | None]
    order: Any


@dataclass(frozen=True)
class RankedEntry:
    """A ranked row: its 1-based ``position``, its rank in each column and its Ranking.

    Example:
        >>> [ranked] = rank_entries([RankEntry("a", {"mae": 5.0}, order=0)],
        ...                         columns=(Column("mae"),))
        >>> ranked.position, ranked.ranks, ranked.ranking
        (1, {'mae': 1.0}, 1.0)
    """

    key: Hashable
    position: int
    ranks: dict[str, float]
    ranking: float
    scores: Mapping[str, float | None]


def _is_defined(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def _check_ties(ties: str) -> None:
    if ties not in TIE_POLICIES:
        raise RankingError(UNKNOWN_TIE_POLICY.format(ties=ties))


def _check_tolerance(tolerance: float) -> None:
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise RankingError(INVALID_TOLERANCE.format(tolerance=tolerance))


def _shared_rank(ties: str, dense: int, first: int, last: int) -> float:
    """The rank of a tie group: ``dense`` is its dense number, ``first..last`` its places."""
    if ties == "dense":
        return float(dense)
    if ties == "min":
        return float(first)
    return (first + last) / 2


def rank_values(
    values: Sequence[float | None],
    *,
    lower_is_better: bool = True,
    ties: TiePolicy = "dense",
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[float]:
    """Rank one column of values; undefined values (None, NaN) all share the last rank.

    ``ties``: ``dense`` (1, 2, 2, 3), ``min`` (1, 2, 2, 4) or ``average`` (1, 2.5, 2.5, 4).
    Values within ``tolerance`` of the first value of a tie group share its rank.

    Example:
        >>> rank_values([0.3, 0.1, 0.2, 0.1])
        [3.0, 1.0, 2.0, 1.0]
        >>> rank_values([0.3, 0.1, None, 0.1], ties="min")
        [3.0, 1.0, 4.0, 1.0]
        >>> rank_values([5.0, 7.0, 7.0], lower_is_better=False, ties="average")
        [3.0, 1.5, 1.5]
    """
    _check_ties(ties)
    _check_tolerance(tolerance)
    sign = 1.0 if lower_is_better else -1.0
    defined = sorted(
        (sign * float(value), index)
        for index, value in enumerate(values)
        if value is not None and _is_defined(value)
    )
    ranks = [0.0] * len(values)
    dense = 0
    start = 0
    while start < len(defined):
        first_value = defined[start][0]
        stop = start + 1
        while stop < len(defined) and (
            defined[stop][0] == first_value or defined[stop][0] - first_value <= tolerance
        ):
            stop += 1
        dense += 1
        rank = _shared_rank(ties, dense, start + 1, stop)
        for _, index in defined[start:stop]:
            ranks[index] = rank
        start = stop
    if len(defined) < len(values):
        undefined_rank = _shared_rank(ties, dense + 1, len(defined) + 1, len(values))
        for index, value in enumerate(values):
            if not _is_defined(value):
                ranks[index] = undefined_rank
    return ranks


def _check_columns(columns: Sequence[Column]) -> None:
    if not columns:
        raise RankingError(NO_COLUMNS)
    seen: set[str] = set()
    for column in columns:
        if column.name in seen:
            raise RankingError(DUPLICATE_COLUMN.format(name=column.name))
        seen.add(column.name)
        if not (math.isfinite(column.weight) and column.weight > 0):
            raise RankingError(INVALID_WEIGHT.format(name=column.name, weight=column.weight))


def rank_entries(
    entries: Sequence[RankEntry],
    *,
    columns: Sequence[Column] = LEADERBOARD_COLUMNS,
    ties: TiePolicy = "dense",
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[RankedEntry]:
    """Rank leaderboard rows as SPEC §6 does, returned in leaderboard order.

    Each column is ranked with :func:`rank_values`; an entry's Ranking is the weighted
    arithmetic mean of its column ranks; rows are sorted by Ranking ascending, equal Rankings
    keep the smaller ``order`` (then the input order) first; ``position`` is the row number.

    Example (SPEC §6):
        >>> def row(key, gender, expression, ethnicity, age, mae, order):
        ...     scores = {"gender_bias": gender, "expression_bias": expression,
        ...               "ethnicity_bias": ethnicity, "age_bias": age, "mae": mae}
        ...     return RankEntry(key, scores, order)
        >>> ranked = rank_entries([row("a", 0.10, 0.30, 0.20, 3.0, 6.0, 0),
        ...                        row("b", 0.20, 0.20, 0.20, 2.0, 5.0, 1),
        ...                        row("c", 0.10, 0.40, 0.50, 4.0, 7.0, 2)])
        >>> [(r.position, r.key, r.ranking) for r in ranked]
        [(1, 'b', 1.2), (2, 'a', 1.6), (3, 'c', 2.4)]
    """
    _check_ties(ties)
    _check_tolerance(tolerance)
    _check_columns(columns)
    for entry in entries:
        for column in columns:
            if column.name not in entry.scores:
                raise RankingError(MISSING_SCORE.format(key=entry.key, column=column.name))
            value = entry.scores[column.name]
            if value is not None and (isinstance(value, bool) or not isinstance(value, Real)):
                raise RankingError(
                    NOT_A_SCORE.format(
                        key=entry.key, column=column.name, value=excerpt(repr(value))
                    )
                )

    column_ranks = {
        column.name: rank_values(
            [entry.scores[column.name] for entry in entries],
            lower_is_better=column.lower_is_better,
            ties=ties,
            tolerance=tolerance,
        )
        for column in columns
    }
    total_weight = math.fsum(column.weight for column in columns)
    # fsum is exactly rounded, so equal multisets of ranks give bit-equal Rankings.
    rankings = [
        math.fsum(column.weight * column_ranks[column.name][index] for column in columns)
        / total_weight
        for index in range(len(entries))
    ]
    leaderboard_order = sorted(
        range(len(entries)), key=lambda index: (rankings[index], entries[index].order, index)
    )
    return [
        RankedEntry(
            key=entries[index].key,
            position=position,
            ranks={column.name: column_ranks[column.name][index] for column in columns},
            ranking=rankings[index],
            scores=entries[index].scores,
        )
        for position, index in enumerate(leaderboard_order, start=1)
    ]
