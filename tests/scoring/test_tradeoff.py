"""The accuracy/fairness trade-off: the Pareto front of (MAE, bias) points, lower is better."""

from __future__ import annotations

import doctest
import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scoring.tradeoff
from scoring.ranking import INVALID_TOLERANCE
from scoring.tradeoff import (
    INVALID_POINT,
    NOT_FINITE_POINT,
    TradeoffError,
    dominates,
    pareto_front,
)


def brute_force_front(points: list[tuple[float, float]]) -> set[int]:
    return {
        i for i, point in enumerate(points) if not any(dominates(other, point) for other in points)
    }


def test_docstring_examples_hold() -> None:
    assert doctest.testmod(scoring.tradeoff).failed == 0


def test_accurate_and_fair_entries_are_on_the_front_and_the_dominated_one_is_not() -> None:
    accurate_but_biased, fair_but_inaccurate, dominated = (4.0, 6.0), (12.0, 1.0), (7.0, 7.0)
    assert pareto_front([dominated, fair_but_inaccurate, accurate_but_biased]) == [2, 1]


def test_front_is_ordered_by_x_ascending_and_y_descending() -> None:
    points = [(3.0, 3.0), (1.0, 5.0), (2.0, 4.0), (4.0, 1.0), (2.5, 4.5)]
    front = pareto_front(points)
    assert front == [1, 2, 0, 3]
    assert [points[i][0] for i in front] == sorted(points[i][0] for i in front)
    assert [points[i][1] for i in front] == sorted((points[i][1] for i in front), reverse=True)


def test_equal_points_are_all_on_the_front_in_input_order() -> None:
    assert pareto_front([(2.0, 2.0), (1.0, 3.0), (2.0, 2.0)]) == [1, 0, 2]


def test_equal_x_keeps_only_the_lowest_y() -> None:
    assert pareto_front([(1.0, 3.0), (1.0, 2.0), (2.0, 2.0)]) == [1]


def test_equal_y_keeps_only_the_lowest_x() -> None:
    assert pareto_front([(3.0, 1.0), (2.0, 1.0), (1.0, 4.0)]) == [2, 1]


def test_values_within_the_tolerance_are_equal_as_in_the_ranking() -> None:
    nearly = 5.0 + 1e-13
    assert pareto_front([(5.0, 3.0), (nearly, 3.0)]) == [0, 1]
    assert pareto_front([(5.0, 3.0), (nearly, 3.0)], tolerance=0.0) == [0]
    assert pareto_front([(5.0, 3.0), (nearly, 2.0)]) == [1]


def test_single_point_and_no_points() -> None:
    assert pareto_front([(7.0, 0.0)]) == [0]
    assert pareto_front([]) == []


def test_dominates_needs_strictly_better_on_one_coordinate() -> None:
    assert dominates((1.0, 1.0), (1.0, 2.0))
    assert dominates((1.0, 1.0), (2.0, 1.0))
    assert not dominates((1.0, 1.0), (1.0, 1.0))
    assert not dominates((1.0, 3.0), (2.0, 1.0))


@pytest.mark.parametrize("bad", [float("nan"), math.inf, -math.inf])
def test_non_finite_point_is_refused_with_its_index(bad: float) -> None:
    point = (1.0, bad)
    with pytest.raises(TradeoffError) as raised:
        pareto_front([(1.0, 1.0), point])
    assert str(raised.value) == NOT_FINITE_POINT.format(index=1, point=point)


@pytest.mark.parametrize("bad", [(1.0,), (1.0, 2.0, 3.0), ("x", 1.0), None])
def test_point_that_is_not_a_pair_of_numbers_is_refused(bad: object) -> None:
    with pytest.raises(TradeoffError) as raised:
        pareto_front([bad])  # type: ignore[list-item]
    assert str(raised.value) == INVALID_POINT.format(index=0, point=bad)


def test_negative_tolerance_is_refused_with_the_ranking_message() -> None:
    with pytest.raises(ValueError) as raised:
        pareto_front([(1.0, 1.0)], tolerance=-1.0)
    assert str(raised.value) == INVALID_TOLERANCE.format(tolerance=-1.0)


# Small integers make ties and duplicates common; wide floats exercise the general case.
coordinates = st.one_of(
    st.integers(0, 6).map(float),
    st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False),
)
point_lists = st.lists(st.tuples(coordinates, coordinates), max_size=40)


@settings(max_examples=200, deadline=None)
@given(points=point_lists)
def test_no_point_on_the_front_is_dominated_and_every_other_is_dominated_by_one_on_it(
    points: list[tuple[float, float]],
) -> None:
    front = pareto_front(points, tolerance=0.0)
    on_front = set(front)
    assert len(on_front) == len(front)
    for i in on_front:
        assert not any(dominates(other, points[i]) for other in points)
    for i in set(range(len(points))) - on_front:
        assert any(dominates(points[j], points[i]) for j in on_front)
    assert on_front == brute_force_front(points)
    assert [points[i] for i in front] == sorted(
        (points[i] for i in front), key=lambda p: (p[0], -p[1])
    )


@settings(max_examples=200, deadline=None)
@given(points=point_lists, shuffle=st.randoms(use_true_random=False))
def test_front_does_not_depend_on_the_input_order(
    points: list[tuple[float, float]], shuffle: object
) -> None:
    order = list(range(len(points)))
    shuffle.shuffle(order)  # type: ignore[attr-defined]
    shuffled = [points[i] for i in order]
    assert {order[i] for i in pareto_front(shuffled)} == set(pareto_front(points))


def test_front_of_a_grid_is_its_lower_left_corner_only() -> None:
    grid = [(float(x), float(y)) for x, y in itertools.product(range(3), range(3))]
    assert [grid[i] for i in pareto_front(grid)] == [(0.0, 0.0)]
