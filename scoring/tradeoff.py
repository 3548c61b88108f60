"""The accuracy/fairness trade-off (SPEC §1): which entries are Pareto-optimal on MAE and a bias.

The average-rank leaderboard can reward a model that lowers a bias by predicting every group
equally badly. Plotting MAE against a bias and marking the *Pareto front* makes that visible:
an entry is on the front when no other entry is at least as good on both scores and strictly
better on one. Both scores are lower-is-better.

Values within ``tolerance`` count as equal, with the same tie groups as the leaderboard's
ranking (:func:`scoring.ranking.rank_values`), so two entries the leaderboard calls equal on a
column are equal here too. Domination is then decided exactly on those tie groups, which keeps
it transitive: every entry off the front is dominated by one on it.

Pure: no I/O, no rounding, no formatting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scoring.errors import ScoringError
from scoring.ranking import DEFAULT_TOLERANCE, rank_values

__all__ = [
    "INVALID_POINT",
    "NOT_FINITE_POINT",
    "TradeoffError",
    "dominates",
    "pareto_front",
]

INVALID_POINT = "point {index} must be a pair of numbers (x, y), got {point!r}"
NOT_FINITE_POINT = "point {index} must hold finite numbers, got {point!r}"


class TradeoffError(ScoringError):
    """Bad input to the trade-off: a point that is not a pair of finite numbers."""


def dominates(first: Sequence[float], second: Sequence[float]) -> bool:
    """Whether ``first`` is at least as good as ``second`` on both coordinates and better on one.

    Lower is better on both; values are compared exactly.

    Example:
        >>> dominates((5.0, 1.0), (6.0, 1.0))
        True
        >>> dominates((5.0, 1.0), (5.0, 1.0))
        False
        >>> dominates((5.0, 2.0), (6.0, 1.0))
        False
    """
    return (
        first[0] <= second[0]
        and first[1] <= second[1]
        and (first[0] < second[0] or first[1] < second[1])
    )


def _as_point(point: Sequence[float], index: int) -> tuple[float, float]:
    try:
        x, y = point
        pair = (float(x), float(y))
    except (TypeError, ValueError):
        raise TradeoffError(INVALID_POINT.format(index=index, point=point)) from None
    if not (math.isfinite(pair[0]) and math.isfinite(pair[1])):
        raise TradeoffError(NOT_FINITE_POINT.format(index=index, point=point))
    return pair


def pareto_front(
    points: Sequence[Sequence[float]], *, tolerance: float = DEFAULT_TOLERANCE
) -> list[int]:
    """Indices of the points on the Pareto front, ordered by x ascending (so y descending).

    ``points`` are ``(x, y)`` pairs, both lower-is-better: on Fairboard's trade-off view
    ``x`` is an entry's MAE and ``y`` one of its biases. A point is on the front when no other
    point dominates it (see :func:`dominates`), after values within ``tolerance`` have been
    made equal as the leaderboard's dense ranking does. Equal points are all on the front or
    all off it; equal points on the front keep their input order. Undefined scores have no
    place on a trade-off plot: leave them out before calling; NaN and infinity raise
    :class:`TradeoffError`.

    Runs in O(n log n).

    Example (MAE, age bias): ``accurate`` has the lowest MAE, ``fair`` the lowest bias, and
    ``dominated`` is beaten on both by ``accurate``; ``tied`` equals ``accurate``.
        >>> accurate, fair, dominated, tied = (5.0, 3.0), (9.0, 1.0), (6.0, 3.5), (5.0, 3.0)
        >>> pareto_front([fair, accurate, dominated, tied])
        [1, 3, 0]

    Values within ``tolerance`` (default 1e-12, as the ranking) are equal:
        >>> pareto_front([(5.0, 3.0), (5.0 + 1e-13, 2.0)])
        [1]
        >>> pareto_front([(5.0, 3.0), (5.0 + 1e-13, 2.0)], tolerance=0.0)
        [0, 1]
        >>> pareto_front([(5.0, 3.0), (5.0 + 1e-13, 3.0)])
        [0, 1]
        >>> pareto_front([(5.0, 3.0), (5.0 + 1e-13, 3.0)], tolerance=0.0)
        [0]
        >>> pareto_front([])
        []
    """
    pairs = [_as_point(point, index) for index, point in enumerate(points)]
    if not pairs:
        return []
    # rank_values validates the tolerance and gives equal values (within it) equal dense ranks.
    x_ranks = rank_values([x for x, _ in pairs], tolerance=tolerance)
    y_ranks = rank_values([y for _, y in pairs], tolerance=tolerance)
    order = sorted(range(len(pairs)), key=lambda i: (x_ranks[i], y_ranks[i], i))
    front: list[int] = []
    best_y_of_smaller_x = math.inf
    start = 0
    while start < len(order):
        stop = start
        while stop < len(order) and x_ranks[order[stop]] == x_ranks[order[start]]:
            stop += 1
        # Within one x tie group only the lowest y can survive, and only if every point with a
        # smaller x has a strictly higher y: an equal y there would dominate it.
        lowest_y = y_ranks[order[start]]
        if lowest_y < best_y_of_smaller_x:
            front.extend(i for i in order[start:stop] if y_ranks[i] == lowest_y)
            best_y_of_smaller_x = lowest_y
        start = stop
    return front
