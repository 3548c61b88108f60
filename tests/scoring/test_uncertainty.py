"""Score intervals: a stratified, seeded, vectorised bootstrap of the five scores (issue 13)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from scoring.groups import ATTRIBUTES, SCORE_NAMES
from scoring.metrics import LENGTH_MISMATCH, MetricInputError, score
from scoring.splits import public_mask
from scoring.synthetic import make_labels
from scoring.testset import TestSet
from scoring.uncertainty import (
    ReplicateScores,
    ResampledItems,
    UncertaintyError,
    bootstrap_replicates,
    interval_seed,
    joint_strata,
    replicate_scores,
    resample_indices,
    score_intervals,
)
from scoring.uncertainty.resampling import (
    BAD_KEY,
    BAD_LEVEL,
    BAD_RESAMPLES,
    BAD_SEED,
    StratifiedDraws,
    replicate_chunks,
)


def noisy(truth: TestSet, sd: float = 5.0, seed: int = 0) -> npt.NDArray[np.float64]:
    return truth.age + np.random.default_rng(seed).normal(0.0, sd, len(truth))


def width(bounds: tuple[float, float] | None) -> float:
    assert bounds is not None
    return bounds[1] - bounds[0]


def test_interval_seed_is_a_pinned_hash_of_the_key_and_the_fingerprint() -> None:
    # Pinned values: a change of the derivation would silently change every stored interval.
    assert interval_seed(42, "sha256:ab") == 1510705857142531211
    assert interval_seed("sub-1", "sha256:ab") == 8909070649137735637


def test_interval_seed_depends_on_the_key_its_type_and_the_fingerprint() -> None:
    seeds = {
        interval_seed(7, "sha256:a"),
        interval_seed("7", "sha256:a"),
        interval_seed(8, "sha256:a"),
        interval_seed(7, "sha256:b"),
    }
    assert len(seeds) == 4
    assert all(0 <= seed < 2**63 for seed in seeds)


def test_interval_seed_refuses_a_key_that_is_neither_str_nor_int() -> None:
    with pytest.raises(UncertaintyError) as caught:
        interval_seed(1.5, "sha256:a")  # type: ignore[arg-type]
    assert str(caught.value) == BAD_KEY.format(kind="float")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_resamples": 0}, BAD_RESAMPLES.format(value="0")),
        ({"n_resamples": 10.0}, BAD_RESAMPLES.format(value="10.0")),
        ({"level": 1.0}, BAD_LEVEL.format(value="1.0")),
        ({"level": float("nan")}, BAD_LEVEL.format(value="nan")),
        ({"seed": -1}, BAD_SEED.format(value="-1")),
    ],
)
def test_bad_bootstrap_options_are_refused_with_their_message(
    options: dict[str, object], message: str
) -> None:
    truth = make_labels(n=50)
    arguments: dict[str, object] = {"seed": 1, "n_resamples": 10, "level": 0.95, **options}
    with pytest.raises(UncertaintyError) as caught:
        score_intervals(truth, truth.age, **arguments)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_bad_predictions_are_refused_with_the_metrics_message() -> None:
    truth = make_labels(n=50)
    with pytest.raises(MetricInputError) as caught:
        score_intervals(truth, truth.age[:-1], seed=1, n_resamples=10)
    assert str(caught.value) == LENGTH_MISMATCH.format(
        first="testset", n_first=50, second="predictions", n_second=49
    )


def test_a_fixed_seed_reproduces_the_intervals_exactly_and_another_seed_does_not() -> None:
    truth = make_labels(n=500, seed=3)
    guesses = noisy(truth)
    first = score_intervals(truth, guesses, seed=11, n_resamples=200)
    again = score_intervals(truth, guesses, seed=11, n_resamples=200)
    other = score_intervals(truth, guesses, seed=12, n_resamples=200)
    assert first == again
    assert first.intervals != other.intervals


def test_the_intervals_do_not_depend_on_the_chunk_size() -> None:
    truth = make_labels(n=300, seed=3)
    guesses = noisy(truth)
    whole = score_intervals(truth, guesses, seed=5, n_resamples=50)
    chunked = score_intervals(truth, guesses, seed=5, n_resamples=50, max_chunk_elements=700)
    assert whole == chunked


def test_intervals_shrink_as_the_test_set_grows() -> None:
    small, large = make_labels(n=400, seed=1), make_labels(n=6400, seed=1)
    narrow = score_intervals(large, noisy(large), seed=2, n_resamples=200).intervals
    wide = score_intervals(small, noisy(small), seed=2, n_resamples=200).intervals
    # Sixteen times the items: about a quarter of the width; a half is a safe margin.
    assert width(narrow["mae"]) < width(wide["mae"]) / 2
    for name in SCORE_NAMES[1:]:
        assert width(narrow[name]) < width(wide[name])


def test_exact_predictions_give_zero_width_intervals() -> None:
    truth = make_labels(n=200, seed=4)
    result = score_intervals(truth, truth.age, seed=1, n_resamples=100)
    assert result.intervals == dict.fromkeys(SCORE_NAMES, (0.0, 0.0))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_point_estimate_lies_inside_its_interval(seed: int) -> None:
    truth = make_labels(n=300, seed=seed)
    # Equal error spread in every group: biases near zero, where a bootstrap of an absolute
    # gap sits above the point estimate and the widening to reach it matters.
    guesses = noisy(truth, seed=seed)
    result = score_intervals(truth, guesses, seed=seed, n_resamples=100)
    for name, value in score(truth, guesses).scores().items():
        low, high = result.intervals[name] or (np.nan, np.nan)
        assert value is not None
        assert low <= value <= high


def test_an_undefined_bias_has_no_interval() -> None:
    truth = TestSet(
        ids=tuple(f"{i}" for i in range(8)),
        age=[10.0, 30.0, 50.0, 70.0] * 2,
        gender=["female", "male"] * 4,
        ethnicity=["asian"] * 8,
        expression=["happy"] * 4 + ["other"] * 4,
    )
    result = score_intervals(truth, truth.age + 1.0, seed=1, n_resamples=20)
    assert result.intervals["ethnicity_bias"] is None
    assert result.as_json()["ethnicity_bias"] is None
    assert result.as_json()["mae"] == [1.0, 1.0]


def test_every_group_keeps_its_size_in_every_replicate() -> None:
    truth = make_labels(n=200, seed=6)
    rows = resample_indices(joint_strata(truth), 50, np.random.default_rng(0))
    for attribute in ATTRIBUTES:
        codes = truth.group_codes(attribute.name)
        expected = np.bincount(codes, minlength=len(attribute.groups))
        for row in rows[::7]:
            assert np.bincount(codes[row], minlength=len(attribute.groups)).tolist() == (
                expected.tolist()
            )


def test_resampling_draws_with_replacement_within_each_stratum() -> None:
    rows = resample_indices([0, 1, 0, 1, 0, 1], 400, np.random.default_rng(0))
    assert set(np.unique(rows[:, :3])) == {0, 2, 4}
    assert set(np.unique(rows[:, 3:])) == {1, 3, 5}
    assert any(len(set(row.tolist())) < 6 for row in rows)


@pytest.mark.parametrize("stratified", [True, False])
def test_the_vectorised_replicates_equal_a_slow_loop_over_score(stratified: bool) -> None:
    truth = make_labels(n=60, seed=8)
    guesses = noisy(truth, seed=9)
    rng = np.random.default_rng(10)
    rows = (
        resample_indices(joint_strata(truth), 25, rng)
        if stratified
        else rng.integers(0, len(truth), size=(25, len(truth)))
    )
    fast = replicate_scores(truth, guesses, rows, stratified=stratified)
    for index, row in enumerate(rows):
        slow = score(ResampledItems(truth, row), guesses[row])
        # Same items in the same order, same additions: bit-equal MAEs.
        assert fast.scores["mae"][index] == slow.mae
        for attribute, result in zip(ATTRIBUTES, slow.attributes, strict=True):
            sizes = [group.size for group in result.groups]
            maes = [np.nan if group.mae is None else group.mae for group in result.groups]
            assert fast.group_sizes[attribute.name][index].tolist() == sizes
            np.testing.assert_array_equal(fast.group_maes[attribute.name][index], maes)
        for name, value in slow.scores().items():
            # pairwise_gap sums with math.fsum, the vectorised gaps with plain addition.
            expected = np.nan if value is None else value
            assert fast.scores[name][index] == pytest.approx(expected, rel=1e-12, nan_ok=True)


def test_intervals_of_a_public_split_are_computed_on_that_split_only() -> None:
    truth = make_labels(n=600, seed=12)
    guesses = noisy(truth, seed=13)
    codes = {attribute.name: truth.group_codes(attribute.name) for attribute in ATTRIBUTES}
    public = public_mask(codes, 0.5, seed=0)
    on_public = score_intervals(truth.subset(public), guesses[public], seed=3, n_resamples=200)
    on_all = score_intervals(truth, guesses, seed=3, n_resamples=200)
    public_mae = score(truth.subset(public), guesses[public]).mae
    low, high = on_public.intervals["mae"] or (np.nan, np.nan)
    assert low <= public_mae <= high
    assert width(on_public.intervals["mae"]) > width(on_all.intervals["mae"])


def test_score_intervals_are_the_percentiles_of_the_replicates_of_its_index_rows() -> None:
    truth = make_labels(n=250, seed=14)
    guesses = noisy(truth, seed=15)
    result = score_intervals(truth, guesses, seed=21, n_resamples=80)
    [rows] = replicate_chunks(truth, 80, 21, cells_per_resample=250, max_cells=10**6)
    replicates = replicate_scores(truth, guesses, rows).scores
    point = score(truth, guesses).scores()
    for name in SCORE_NAMES:
        tail = (1 - 0.95) / 2
        low, high = np.quantile(replicates[name], [tail, 1 - tail])
        value = point[name]
        assert value is not None
        assert result.intervals[name] == (min(low, value), max(high, value))


def assert_bit_equal_to_score(
    truth: TestSet, guesses: npt.NDArray[np.float64], rows: np.ndarray, replicates: ReplicateScores
) -> None:
    for index, row in enumerate(rows):
        slow = score(ResampledItems(truth, row), guesses[row])
        assert replicates.scores["mae"][index] == slow.mae
        for attribute, result in zip(ATTRIBUTES, slow.attributes, strict=True):
            maes = [np.nan if group.mae is None else group.mae for group in result.groups]
            np.testing.assert_array_equal(replicates.group_maes[attribute.name][index], maes)


@pytest.mark.parametrize("max_chunk_elements", [60, 120, 10**6])
def test_the_bootstrap_replicates_are_scored_as_score_scores_their_items_in_any_chunk_size(
    max_chunk_elements: int,
) -> None:
    # 60 cells: one replicate per chunk, the case a column-wise sum would add pairwise.
    truth = make_labels(n=60, seed=16)
    guesses = noisy(truth, seed=17)
    replicates = bootstrap_replicates(
        truth, guesses, seed=4, n_resamples=9, max_chunk_elements=max_chunk_elements
    )
    rows = np.concatenate(list(replicate_chunks(truth, 9, 4, cells_per_resample=60, max_cells=60)))
    assert_bit_equal_to_score(truth, guesses, rows, replicates)


def test_a_single_resample_is_scored_as_score_scores_its_items() -> None:
    truth = make_labels(n=80, seed=18)
    guesses = noisy(truth, seed=19)
    [rows] = replicate_chunks(truth, 1, 6, cells_per_resample=80, max_cells=10**6)
    assert_bit_equal_to_score(
        truth, guesses, rows, bootstrap_replicates(truth, guesses, seed=6, n_resamples=1)
    )
    assert_bit_equal_to_score(
        truth, guesses, rows, replicate_scores(truth, guesses, rows, stratified=True)
    )


class Ones:
    """A generator stand-in whose every uniform is 1.0, the value ``u * size`` cannot pass."""

    def random(self, shape: tuple[int, int]) -> npt.NDArray[np.float64]:
        return np.ones(shape)


def test_a_draw_that_rounds_up_to_the_stratum_size_takes_the_strata_last_item() -> None:
    rows = resample_indices([1, 0, 1, 1, 0], 2, Ones())  # type: ignore[arg-type]
    assert rows.tolist() == [[4, 4, 3, 3, 3]] * 2


def test_the_draws_list_the_items_stratum_by_stratum_each_last_one_twice() -> None:
    draws = StratifiedDraws.of([2, 0, 2, 0])
    assert draws.columns.tolist() == [1, 3, 0, 2]
    assert draws.slots.tolist() == [1, 3, 3, 0, 2, 2]
    assert draws.first_slot.tolist() == [0, 0, 3, 3]
    assert draws.stratum_size.tolist() == [2.0, 2.0, 2.0, 2.0]
