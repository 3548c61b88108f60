"""Rank intervals: a paired bootstrap of the leaderboard, ranked as rank_entries ranks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from scoring.groups import SCORE_NAMES
from scoring.metrics import NOT_FINITE, NOT_NUMERIC, MetricInputError
from scoring.ranking import Column, RankEntry, RankingError, rank_entries, rank_values
from scoring.synthetic import make_labels
from scoring.testset import TestSet
from scoring.uncertainty import (
    joint_strata,
    rank_intervals,
    rank_matrix,
    replicate_scores,
    resample_indices,
)
from scoring.uncertainty.ranks import (
    ENTRY_PREDICTIONS,
    KEYS_MISMATCH,
    NOT_A_MATRIX,
    RAGGED_MATRIX,
    UNKNOWN_COLUMN,
    _replicate_scores,
)

TRUTH = make_labels(n=300, seed=1)


def predictions(*spreads: float, seed: int = 0) -> npt.NDArray[np.float64]:
    """One row per spread: the true ages plus independent noise of that SD."""
    rng = np.random.default_rng(seed)
    return np.stack([TRUTH.age + rng.normal(0.0, sd, len(TRUTH)) for sd in spreads])


@pytest.mark.parametrize("ties", ["dense", "min", "average"])
@pytest.mark.parametrize("tolerance", [0.0, 1e-12, 0.15])
@pytest.mark.parametrize("lower_is_better", [True, False])
def test_rank_matrix_ranks_every_row_as_rank_values_does(
    ties: str, tolerance: float, lower_is_better: bool
) -> None:
    rng = np.random.default_rng(0)
    # Coarse values give ties and tolerance chains; NaN is an undefined score.
    values = np.round(rng.uniform(0.0, 1.0, size=(40, 9)), 1)
    values[rng.uniform(size=values.shape) < 0.15] = np.nan
    values[0] = np.nan
    ranks = rank_matrix(values, lower_is_better=lower_is_better, ties=ties, tolerance=tolerance)  # type: ignore[arg-type]
    for row, expected in zip(values.tolist(), ranks.tolist(), strict=True):
        assert (
            rank_values(
                [None if np.isnan(value) else value for value in row],
                lower_is_better=lower_is_better,
                ties=ties,  # type: ignore[arg-type]
                tolerance=tolerance,
            )
            == expected
        )


def test_the_entries_scores_from_item_counts_agree_with_the_scores_of_the_index_rows() -> None:
    guesses = predictions(3.0, 6.0, 9.0)
    rows = resample_indices(joint_strata(TRUTH), 30, np.random.default_rng(1))
    counts = np.stack([np.bincount(row, minlength=len(TRUTH)) for row in rows]) * 1.0
    from_counts = _replicate_scores(TRUTH, np.abs(guesses - TRUTH.age), counts)
    for entry, row in enumerate(guesses):
        expected = replicate_scores(TRUTH, row, rows).scores
        for name in SCORE_NAMES:
            np.testing.assert_allclose(
                from_counts[name][:, entry], expected[name], rtol=1e-12, atol=1e-12
            )


def test_the_point_rows_are_the_rank_entries_leaderboard() -> None:
    guesses = predictions(5.0, 3.0, 8.0, 3.5, seed=2)
    rows = rank_intervals(
        TRUTH, guesses, keys=["a", "b", "c", "d"], orders=[4, 3, 2, 1], seed=1, n_resamples=50
    )
    from scoring.metrics import score

    expected = rank_entries(
        [
            RankEntry(key, score(TRUTH, row).scores(), order)
            for key, row, order in zip("abcd", guesses, [4, 3, 2, 1], strict=True)
        ]
    )
    assert [(r.key, r.position, r.ranking, r.ranks) for r in rows] == [
        (e.key, e.position, e.ranking, e.ranks) for e in expected
    ]


def test_every_interval_contains_its_point_estimate() -> None:
    rows = rank_intervals(
        TRUTH,
        predictions(4.0, 4.2, 4.4, 6.0, 4.1, seed=3),
        keys=list("abcde"),
        seed=2,
        n_resamples=60,
    )
    for row in rows:
        assert row.position_interval[0] <= row.position <= row.position_interval[1]
        for name, (low, high) in row.rank_intervals.items():
            assert low <= row.ranks[name] <= high


def test_two_identical_submissions_are_marked_tied() -> None:
    honest, copy = predictions(4.0, seed=4)[0], predictions(4.0, seed=4)[0]
    rows = rank_intervals(
        TRUTH,
        np.stack([honest, predictions(12.0)[0], copy]),
        keys=["first", "poor", "copy"],
        seed=3,
        n_resamples=100,
    )
    assert [(r.key, r.position_interval, r.tied_with_neighbour) for r in rows] == [
        ("first", (1, 2), True),
        ("copy", (1, 2), True),
        ("poor", (3, 3), False),
    ]


def test_two_clearly_different_submissions_are_not_tied() -> None:
    rows = rank_intervals(
        TRUTH,
        predictions(12.0, 2.0, seed=5),
        keys=["poor", "good"],
        seed=4,
        n_resamples=100,
    )
    assert [(r.key, r.position_interval, r.tied_with_neighbour) for r in rows] == [
        ("good", (1, 1), False),
        ("poor", (2, 2), False),
    ]


def test_a_fixed_seed_reproduces_the_rank_intervals_and_chunking_does_not_change_them() -> None:
    guesses = predictions(4.0, 4.1, 4.2, 4.3, seed=6)
    keys = list("abcd")
    first = rank_intervals(TRUTH, guesses, keys=keys, seed=7, n_resamples=40)
    again = rank_intervals(
        TRUTH, guesses, keys=keys, seed=7, n_resamples=40, max_chunk_elements=900
    )
    assert first == again


def test_the_tie_policy_and_columns_are_those_of_the_leaderboard() -> None:
    rows = rank_intervals(
        TRUTH,
        predictions(4.0, 9.0, seed=8),
        keys=["a", "b"],
        seed=1,
        n_resamples=30,
        columns=(Column("mae", weight=2.0),),
        ties="average",
    )
    assert [(r.key, r.ranks, r.rank_intervals) for r in rows] == [
        ("a", {"mae": 1.0}, {"mae": (1.0, 1.0)}),
        ("b", {"mae": 2.0}, {"mae": (2.0, 2.0)}),
    ]


def test_a_prediction_matrix_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(MetricInputError) as caught:
        rank_intervals(TRUTH, TRUTH.age, keys=["a"], seed=1, n_resamples=10)
    assert str(caught.value) == NOT_A_MATRIX.format(shape=(300,))


def test_rows_of_different_lengths_are_refused() -> None:
    rows = [TRUTH.age.tolist(), TRUTH.age[:-1].tolist()]
    with pytest.raises(MetricInputError) as caught:
        rank_intervals(TRUTH, rows, keys=["a", "b"], seed=1, n_resamples=10)
    assert str(caught.value) == RAGGED_MATRIX


def test_a_row_that_is_not_numbers_is_refused_naming_its_entry() -> None:
    rows = [["x"] * len(TRUTH), ["y"] * len(TRUTH)]
    with pytest.raises(MetricInputError) as caught:
        rank_intervals(TRUTH, rows, keys=["a", "b"], seed=1, n_resamples=10)
    inner = NOT_NUMERIC.format(name="predictions", dtype=np.asarray(rows).dtype)
    assert str(caught.value) == ENTRY_PREDICTIONS.format(key="'a'", message=inner)


def test_keys_that_do_not_match_the_entries_are_refused() -> None:
    with pytest.raises(MetricInputError) as caught:
        rank_intervals(TRUTH, predictions(1.0, 2.0), keys=["a"], seed=1, n_resamples=10)
    assert str(caught.value) == KEYS_MISMATCH.format(name="keys", found=1, expected=2)


def test_a_bad_row_is_refused_naming_its_entry() -> None:
    guesses = predictions(1.0, 2.0)
    guesses[1, 5] = np.nan
    with pytest.raises(MetricInputError) as caught:
        rank_intervals(TRUTH, guesses, keys=["a", "b"], seed=1, n_resamples=10)
    inner = NOT_FINITE.format(name="predictions", count=1, index=5)
    assert str(caught.value) == ENTRY_PREDICTIONS.format(key="'b'", message=inner)


def test_a_column_that_is_not_a_score_is_refused() -> None:
    with pytest.raises(RankingError) as caught:
        rank_intervals(
            TRUTH, predictions(1.0), keys=["a"], seed=1, n_resamples=10, columns=(Column("f1"),)
        )
    assert str(caught.value) == UNKNOWN_COLUMN.format(name="f1", known=", ".join(SCORE_NAMES))


def test_a_leaderboard_of_one_entry_is_first_and_tied_with_nobody() -> None:
    small = TestSet(
        ids=("a", "b", "c", "d"),
        age=[10.0, 30.0, 50.0, 70.0],
        gender=["male", "female"] * 2,
        ethnicity=["asian"] * 4,
        expression=["happy"] * 4,
    )
    [row] = rank_intervals(small, [[11.0, 30.0, 52.0, 69.0]], keys=[9], seed=1, n_resamples=10)
    assert (row.key, row.position, row.position_interval, row.tied_with_neighbour) == (
        9,
        1,
        (1, 1),
        False,
    )
