"""Ranking (SPEC §6): tie policies, tolerance, undefined scores, the Ranking and row order."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.errors import ScoringError
from scoring.ranking import (
    DUPLICATE_COLUMN,
    INVALID_TOLERANCE,
    INVALID_WEIGHT,
    LEADERBOARD_COLUMNS,
    MISSING_SCORE,
    NO_COLUMNS,
    NOT_A_SCORE,
    UNKNOWN_TIE_POLICY,
    Column,
    RankEntry,
    RankingError,
    rank_entries,
    rank_values,
)

NAMES = ("gender_bias", "expression_bias", "ethnicity_bias", "age_bias", "mae")


def entry(key: str, values: tuple[float | None, ...], order: object = 0) -> RankEntry:
    return RankEntry(key=key, scores=dict(zip(NAMES, values, strict=True)), order=order)


SPEC_EXAMPLE = [
    entry("a", (0.10, 0.30, 0.20, 3.0, 6.0), order=0),
    entry("b", (0.20, 0.20, 0.20, 2.0, 5.0), order=1),
    entry("c", (0.10, 0.40, 0.50, 4.0, 7.0), order=2),
]


def test_leaderboard_columns_follow_the_spec_order_and_are_lower_is_better() -> None:
    assert tuple(column.name for column in LEADERBOARD_COLUMNS) == NAMES
    assert all(column.lower_is_better and column.weight == 1.0 for column in LEADERBOARD_COLUMNS)


def test_the_spec_example_orders_b_a_c() -> None:
    ranked = rank_entries(SPEC_EXAMPLE)
    assert [r.key for r in ranked] == ["b", "a", "c"]
    assert [r.position for r in ranked] == [1, 2, 3]
    assert [r.ranking for r in ranked] == [1.2, 1.6, 2.4]
    ranks = {r.key: [r.ranks[name] for name in NAMES] for r in ranked}
    assert ranks == {"a": [1, 2, 1, 2, 2], "b": [2, 1, 1, 1, 1], "c": [1, 3, 2, 3, 3]}
    assert ranked[0].scores is SPEC_EXAMPLE[1].scores


# --- tie policies ------------------------------------------------------------------------------


def test_dense_rank_shares_rank_for_equal_values() -> None:
    assert rank_values([5.0, 3.0, 3.0, 9.0, 5.0]) == [2.0, 1.0, 1.0, 3.0, 2.0]


def test_min_rank_skips_after_a_tie() -> None:
    assert rank_values([1.0, 2.0, 2.0, 4.0], ties="min") == [1.0, 2.0, 2.0, 4.0]
    assert rank_values([1.0, 2.0, 2.0, 3.0], ties="min") == [1.0, 2.0, 2.0, 4.0]


def test_average_rank_is_fractional() -> None:
    assert rank_values([1.0, 2.0, 2.0, 3.0], ties="average") == [1.0, 2.5, 2.5, 4.0]
    assert rank_values([7.0, 7.0, 7.0], ties="average") == [2.0, 2.0, 2.0]


def test_values_within_the_tolerance_share_a_rank() -> None:
    assert 0.1 + 0.2 != 0.3
    assert rank_values([0.1 + 0.2, 0.3, 0.3 + 2e-12]) == [1.0, 1.0, 2.0]
    assert rank_values([1.0, 1.0 + 1e-9], tolerance=1e-6) == [1.0, 1.0]
    assert rank_values([1.0, 1.0 + 1e-9], tolerance=0.0) == [1.0, 2.0]


def test_a_tolerance_chain_is_cut_at_the_first_value_of_each_tie_group() -> None:
    # a ~ b and b ~ c, but a is not ~ c: {a, b} share a rank, c gets the next one.
    a, b, c = 0.0, 0.6e-12, 1.2e-12
    assert rank_values([c, a, b]) == [2.0, 1.0, 1.0]
    assert rank_values([c, a, b], ties="min") == [3.0, 1.0, 1.0]
    # The same holds for higher-is-better columns, counted from the best value.
    assert rank_values([a, c, b], lower_is_better=False) == [2.0, 1.0, 1.0]


def test_higher_is_better_columns_rank_the_largest_first() -> None:
    assert rank_values([0.5, 0.9, 0.7], lower_is_better=False) == [3.0, 1.0, 2.0]


# --- undefined scores --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ties", "expected"),
    [
        ("dense", [1.0, 3.0, 2.0, 3.0, 2.0]),
        ("min", [1.0, 4.0, 2.0, 4.0, 2.0]),
        ("average", [1.0, 4.5, 2.5, 4.5, 2.5]),
    ],
)
def test_undefined_scores_rank_after_every_defined_one_and_share_the_last_rank(
    ties: str, expected: list[float]
) -> None:
    values = [1.0, None, 2.0, math.nan, 2.0]
    assert rank_values(values, ties=ties) == expected  # type: ignore[arg-type]
    assert rank_values(values, ties=ties, lower_is_better=False)[1] == expected[1]  # type: ignore[arg-type]


def test_a_column_with_only_undefined_scores_ranks_everyone_first() -> None:
    assert rank_values([None, None]) == [1.0, 1.0]
    assert rank_values([None, None, None], ties="average") == [2.0, 2.0, 2.0]


def test_an_undefined_bias_ranks_the_entry_last_in_that_column() -> None:
    ranked = rank_entries(
        [entry("x", (None, 0.1, 0.1, 1.0, 5.0)), entry("y", (0.4, 0.1, 0.1, 1.0, 5.0))]
    )
    assert {r.key: r.ranks["gender_bias"] for r in ranked} == {"x": 2.0, "y": 1.0}
    assert [r.key for r in ranked] == ["y", "x"]


# --- Ranking and order -------------------------------------------------------------------------


def test_equal_rankings_keep_the_earlier_entry_first() -> None:
    late = entry("late", (0.1, 0.2, 0.3, 1.0, 5.0), order=20)
    early = entry("early", (0.2, 0.1, 0.3, 1.0, 5.0), order=10)
    ranked = rank_entries([late, early])
    assert [r.key for r in ranked] == ["early", "late"]
    assert ranked[0].ranking == ranked[1].ranking == 1.2


def test_equal_rankings_and_equal_orders_keep_the_input_order() -> None:
    ranked = rank_entries([entry("p", (1.0,) * 5), entry("q", (1.0,) * 5)])
    assert [(r.key, r.position, r.ranking) for r in ranked] == [("p", 1, 1.0), ("q", 2, 1.0)]


def test_the_ranking_is_the_weighted_mean_of_the_column_ranks() -> None:
    columns = (Column("mae", weight=3.0), Column("accuracy", lower_is_better=False))
    entries = [
        RankEntry("a", {"mae": 5.0, "accuracy": 0.5}, order=0),
        RankEntry("b", {"mae": 6.0, "accuracy": 0.9}, order=1),
    ]
    ranked = rank_entries(entries, columns=columns)
    assert [(r.key, r.ranks, r.ranking) for r in ranked] == [
        ("a", {"mae": 1.0, "accuracy": 2.0}, 1.25),
        ("b", {"mae": 2.0, "accuracy": 1.0}, 1.75),
    ]


def test_no_entries_rank_to_an_empty_leaderboard() -> None:
    assert rank_entries([]) == []


def test_the_tie_policy_applies_to_every_column() -> None:
    entries = [
        entry("a", (0.1, 0.1, 0.1, 1.0, 5.0), order=0),
        entry("b", (0.1, 0.1, 0.1, 1.0, 5.0), order=1),
        entry("c", (0.2, 0.2, 0.2, 2.0, 6.0), order=2),
    ]
    assert [r.ranking for r in rank_entries(entries, ties="dense")] == [1.0, 1.0, 2.0]
    assert [r.ranking for r in rank_entries(entries, ties="min")] == [1.0, 1.0, 3.0]
    assert [r.ranking for r in rank_entries(entries, ties="average")] == [1.5, 1.5, 3.0]


# --- bad input ---------------------------------------------------------------------------------


def ranking_error(**kwargs: object) -> str:
    entries = kwargs.pop("entries", SPEC_EXAMPLE)
    with pytest.raises(RankingError) as caught:
        rank_entries(entries, **kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, ScoringError)
    return str(caught.value)


def test_an_unknown_tie_policy_is_rejected() -> None:
    assert ranking_error(ties="first") == UNKNOWN_TIE_POLICY.format(ties="first")
    assert ranking_error(ties="first") == (
        "unknown tie policy 'first'; expected one of: dense, min, average"
    )
    with pytest.raises(RankingError):
        rank_values([1.0], ties="max")  # type: ignore[arg-type]


@pytest.mark.parametrize("tolerance", [-1e-12, math.nan, math.inf])
def test_a_bad_tolerance_is_rejected(tolerance: float) -> None:
    assert ranking_error(tolerance=tolerance) == INVALID_TOLERANCE.format(tolerance=tolerance)


def test_bad_columns_are_rejected() -> None:
    assert ranking_error(columns=()) == NO_COLUMNS
    assert ranking_error(columns=(Column("mae"), Column("mae"))) == DUPLICATE_COLUMN.format(
        name="mae"
    )
    for weight in (0.0, -1.0, math.nan):
        assert ranking_error(columns=(Column("mae", weight=weight),)) == INVALID_WEIGHT.format(
            name="mae", weight=weight
        )


def test_an_entry_without_a_ranked_score_is_rejected() -> None:
    message = ranking_error(entries=[RankEntry("a", {"mae": 1.0}, order=0)])
    assert message == MISSING_SCORE.format(key="a", column="gender_bias")
    assert message == "entry 'a' has no score 'gender_bias'"


@pytest.mark.parametrize("value", ["1.5", True, [1.0], {"x": 1}])
def test_an_entry_whose_score_is_not_a_number_is_rejected_by_name(value: object) -> None:
    scores = dict.fromkeys(("gender_bias", "expression_bias", "ethnicity_bias", "age_bias"), 1.0)
    entry = RankEntry("a", scores | {"mae": value}, order=0)
    assert ranking_error(entries=[entry]) == NOT_A_SCORE.format(
        key="a", column="mae", value=repr(value)
    )


# --- properties --------------------------------------------------------------------------------

score_values = st.one_of(
    st.none(),
    st.sampled_from([0.0, 0.1, 0.2, 1.0]),
    st.just(math.nan),
    st.floats(min_value=0, max_value=50),
)
leaderboards = st.lists(st.tuples(*[score_values] * 5), min_size=0, max_size=12)


@settings(max_examples=100, deadline=None)
@given(rows=leaderboards, ties=st.sampled_from(["dense", "min", "average"]))
def test_ranking_invariants(rows: list[tuple[float | None, ...]], ties: str) -> None:
    entries = [entry(f"p{i}", row, order=i) for i, row in enumerate(rows)]
    ranked = rank_entries(entries, ties=ties)  # type: ignore[arg-type]
    n = len(entries)
    assert sorted(r.position for r in ranked) == list(range(1, n + 1))
    assert [r.position for r in ranked] == list(range(1, n + 1))
    assert sorted(str(r.key) for r in ranked) == sorted(str(e.key) for e in entries)
    for r in ranked:
        assert r.ranking == pytest.approx(sum(r.ranks.values()) / len(NAMES))
        assert all(1.0 <= rank <= n for rank in r.ranks.values())
    rankings = [r.ranking for r in ranked]
    assert rankings == sorted(rankings)
    for first, second in itertools.pairwise(ranked):
        if first.ranking == second.ranking:
            assert int(str(first.key)[1:]) < int(str(second.key)[1:])
    if ties == "dense":
        for name in NAMES:
            distinct = sorted({r.ranks[name] for r in ranked})
            assert distinct == [float(k) for k in range(1, len(distinct) + 1)]


@settings(max_examples=60, deadline=None)
@given(rows=leaderboards, data=st.data())
def test_the_leaderboard_does_not_depend_on_the_input_order(
    rows: list[tuple[float | None, ...]], data: st.DataObject
) -> None:
    entries = [entry(f"p{i}", row, order=i) for i, row in enumerate(rows)]
    shuffled = data.draw(st.permutations(entries))
    assert rank_entries(shuffled) == rank_entries(entries)
