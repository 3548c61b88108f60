"""Metrics (SPEC §3): hand-computed values, the worked example, validation, properties."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.errors import ScoringError
from scoring.groups import (
    AGE,
    ATTRIBUTES,
    ETHNICITY,
    EXPRESSION,
    GENDER,
    Attribute,
    age_group_codes,
)
from scoring.metrics import (
    CODE_OUT_OF_RANGE,
    INVALID_REPORT,
    LENGTH_MISMATCH,
    NO_ROWS,
    NOT_FINITE,
    NOT_NUMERIC,
    NOT_ONE_DIMENSIONAL,
    SCORER_VERSION,
    GroupResult,
    MetricInputError,
    ScoreReport,
    bias,
    group_mae,
    mean_absolute_error,
    pairwise_gap,
    score,
)


@dataclass
class Truth:
    """The three things score() needs from a TestSet, built from group names directly."""

    age: npt.NDArray[np.float64]
    gender: Sequence[str]
    ethnicity: Sequence[str]
    expression: Sequence[str]
    codes: dict[str, npt.NDArray[np.intp]] = field(init=False)

    def __post_init__(self) -> None:
        self.age = np.asarray(self.age, dtype=np.float64)
        self.codes = {"age": age_group_codes(self.age)}
        for attribute in (GENDER, ETHNICITY, EXPRESSION):
            values = getattr(self, attribute.name)
            self.codes[attribute.name] = np.array(
                [attribute.groups.index(value) for value in values], dtype=np.intp
            )

    def __len__(self) -> int:
        return len(self.age)

    def group_codes(self, attribute: str) -> npt.NDArray[np.intp]:
        return self.codes[attribute]


def uniform_truth(age: Sequence[float], **categories: Sequence[str]) -> Truth:
    n = len(age)
    return Truth(
        age=np.asarray(age, dtype=np.float64),
        gender=categories.get("gender", ["female"] * n),
        ethnicity=categories.get("ethnicity", ["caucasian"] * n),
        expression=categories.get("expression", ["neutral"] * n),
    )


def random_truth(rng: np.random.Generator, n: int) -> Truth:
    return Truth(
        age=rng.uniform(0, 90, n),
        gender=rng.choice(GENDER.groups, n).tolist(),
        ethnicity=rng.choice(ETHNICITY.groups, n).tolist(),
        expression=rng.choice(EXPRESSION.groups, n).tolist(),
    )


# --- mean_absolute_error, group_mae ------------------------------------------------------


def test_mean_absolute_error_is_the_mean_of_absolute_errors() -> None:
    assert mean_absolute_error([20.0, 30.0, 40.0], [22.0, 30.0, 35.0]) == 7.0 / 3.0
    assert mean_absolute_error(np.array([[1.0], [2.0]]), np.array([2.0, 4.0])) == 1.5


def test_group_mae_gives_sizes_and_maes_with_nan_for_empty_groups() -> None:
    sizes, maes = group_mae(
        [10.0, 20.0, 30.0, 40.0], [12.0, 20.0, 33.0, 44.0], codes=[0, 0, 2, 2], n_groups=4
    )
    assert sizes.tolist() == [2, 0, 2, 0]
    assert maes[0] == 1.0 and maes[2] == 3.5
    assert np.isnan(maes[1]) and np.isnan(maes[3])
    assert maes.dtype == np.float64


# --- pairwise_gap and the SPEC §3 worked example -----------------------------------------

WORKED_EXAMPLE = {
    AGE: ([14.04, 19.18, 23.00, 31.80], 9.516667),
    GENDER: ([20.73, 19.40], 1.33),
    ETHNICITY: ([15.65, 15.81, 20.54], 3.26),
    EXPRESSION: ([20.84, 20.88, 19.38, 17.65], 1.858333),
}


@pytest.mark.parametrize("attribute", list(WORKED_EXAMPLE), ids=lambda a: a.name)
def test_pairwise_gap_reproduces_the_worked_example(attribute: Attribute) -> None:
    group_maes, expected = WORKED_EXAMPLE[attribute]
    assert pairwise_gap(group_maes) == pytest.approx(expected, abs=1e-6)


def test_pairwise_gap_of_the_age_example_is_57_10_over_6() -> None:
    assert pairwise_gap([14.04, 19.18, 23.00, 31.80]) == pytest.approx(57.10 / 6, abs=1e-12)
    assert pairwise_gap([15.65, 15.81, 20.54]) == pytest.approx(9.78 / 3, abs=1e-12)


def test_pairwise_gap_leaves_out_empty_groups() -> None:
    assert pairwise_gap([10.0, np.nan, 14.0, None]) == 4.0
    assert pairwise_gap([1.0, 2.0, 4.0]) == pytest.approx((1.0 + 3.0 + 2.0) / 3)


@pytest.mark.parametrize("group_maes", [[], [5.0], [np.nan, 5.0], [None, None]])
def test_pairwise_gap_is_undefined_with_fewer_than_two_non_empty_groups(
    group_maes: list[float | None],
) -> None:
    assert pairwise_gap(group_maes) is None


def worked_example_truth(attribute_name: str) -> tuple[Truth, npt.NDArray[np.float64]]:
    """Two items per group of one attribute, each off by exactly that group's example MAE."""
    attribute = next(a for a in ATTRIBUTES if a.name == attribute_name)
    group_maes = next(maes for a, (maes, _) in WORKED_EXAMPLE.items() if a is attribute)
    ages: list[float] = []
    errors: list[float] = []
    categories: dict[str, list[str]] = {}
    for index, (group, mae) in enumerate(zip(attribute.groups, group_maes, strict=True)):
        age = [10.0, 30.0, 50.0, 70.0][index] if attribute is AGE else 30.0
        ages += [age, age]
        errors += [mae, -mae]
        if attribute is not AGE:
            categories.setdefault(attribute.name, []).extend([group, group])
    truth = uniform_truth(ages, **categories)
    return truth, truth.age + np.asarray(errors)


@pytest.mark.parametrize(
    ("attribute", "score_name", "expected"),
    [
        ("age", "age_bias", 9.516667),
        ("gender", "gender_bias", 1.33),
        ("ethnicity", "ethnicity_bias", 3.26),
        ("expression", "expression_bias", 1.858333),
    ],
)
def test_score_reproduces_the_worked_example(
    attribute: str, score_name: str, expected: float
) -> None:
    truth, predictions = worked_example_truth(attribute)
    report = score(truth, predictions)
    result = next(r for r in report.attributes if r.attribute == attribute)
    group_maes = next(maes for a, (maes, _) in WORKED_EXAMPLE.items() if a.name == attribute)
    assert [g.mae for g in result.groups] == pytest.approx(group_maes, abs=1e-12)
    assert [g.size for g in result.groups] == [2] * len(group_maes)
    assert report.scores()[score_name] == pytest.approx(expected, abs=1e-6)
    assert result.bias == report.scores()[score_name]


# --- bias ------------------------------------------------------------------------------------


def test_bias_groups_by_labels_or_codes() -> None:
    y_true = [10.0, 20.0, 30.0, 40.0, 50.0]
    y_pred = [11.0, 21.0, 34.0, 36.0, 56.0]
    # MAEs: a = 1, b = 4, c = 6 -> (3 + 5 + 2) / 3
    assert bias(y_true, y_pred, groups=["a", "a", "b", "b", "c"]) == pytest.approx(10 / 3)
    assert bias(y_true, y_pred, groups=[7, 7, 3, 3, 0]) == pytest.approx(10 / 3)


def test_bias_is_undefined_with_a_single_group() -> None:
    assert bias([1.0, 2.0], [3.0, 5.0], groups=["male", "male"]) is None


def test_bias_needs_one_group_per_item() -> None:
    with pytest.raises(MetricInputError) as caught:
        bias([1.0, 2.0], [1.0, 2.0], groups=["a"])
    assert str(caught.value) == "y_true has 2 rows but groups has 1"


# --- score and ScoreReport ---------------------------------------------------------------


def hand_computed_truth() -> tuple[Truth, npt.NDArray[np.float64]]:
    truth = Truth(
        age=np.array([10.0, 15.0, 25.0, 45.0, 65.0, 35.0]),
        gender=["female", "female", "male", "male", "female", "male"],
        ethnicity=["asian", "caucasian", "caucasian", "asian", "caucasian", "caucasian"],
        expression=["happy", "happy", "neutral", "neutral", "other", "other"],
    )
    errors = np.array([1.0, -3.0, 2.0, -4.0, 6.0, 0.0])
    return truth, truth.age + errors


def test_score_gives_the_hand_computed_scores_and_groups() -> None:
    truth, predictions = hand_computed_truth()
    report = score(truth, predictions)
    assert report.n_items == 6
    assert report.mae == pytest.approx(16 / 6)
    # age groups: 0-19 {1, 3} -> 2; 20-39 {2, 0} -> 1; 40-59 {4}; 60+ {6}
    age = report.attributes[0]
    assert age.attribute == "age"
    assert age.groups == (
        GroupResult("0-19", 2, 2.0),
        GroupResult("20-39", 2, 1.0),
        GroupResult("40-59", 1, 4.0),
        GroupResult("60+", 1, 6.0),
    )
    # pairs: |2-1| + |2-4| + |2-6| + |1-4| + |1-6| + |4-6| = 17, over 6 pairs
    assert age.bias == pytest.approx(17 / 6)
    assert report.age_bias == age.bias
    # gender: female {1, 3, 6} -> 10/3, male {2, 4, 0} -> 2
    assert report.gender_bias == pytest.approx(10 / 3 - 2)
    # ethnicity: asian {1, 4} -> 2.5, afroamerican empty, caucasian {3, 2, 6, 0} -> 2.75
    ethnicity = report.attributes[2]
    assert [(g.group, g.size, g.mae) for g in ethnicity.groups] == [
        ("asian", 2, 2.5),
        ("afroamerican", 0, None),
        ("caucasian", 4, 2.75),
    ]
    assert report.ethnicity_bias == pytest.approx(0.25)
    # expression: happy 2, slightlyhappy empty, neutral 3, other 3 -> (0 + 1 + 1) / 3
    assert report.expression_bias == pytest.approx(2 / 3)
    assert list(report.scores()) == [
        "mae",
        "age_bias",
        "gender_bias",
        "ethnicity_bias",
        "expression_bias",
    ]


def test_a_bias_with_one_non_empty_group_is_undefined_and_null_in_json() -> None:
    truth = uniform_truth([30.0, 31.0], gender=["male", "male"])
    report = score(truth, [32.0, 31.0])
    assert report.gender_bias is None and report.ethnicity_bias is None
    assert report.age_bias is None
    document = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert document["gender_bias"] is None
    assert document["attributes"][1]["groups"][0] == {"group": "female", "size": 0, "mae": None}


def test_score_report_round_trips_through_json() -> None:
    truth, predictions = hand_computed_truth()
    report = score(truth, predictions)
    document = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert set(document) == {
        "mae",
        "age_bias",
        "gender_bias",
        "ethnicity_bias",
        "expression_bias",
        "n_items",
        "attributes",
    }
    assert ScoreReport.from_dict(document) == report
    assert ScoreReport.from_dict({**document, "scorer_version": SCORER_VERSION}) == report


def test_from_dict_rejects_a_malformed_report() -> None:
    with pytest.raises(MetricInputError) as caught:
        ScoreReport.from_dict({"mae": 1.0})
    assert str(caught.value) == INVALID_REPORT.format(reason="missing 'attributes'")


def test_scores_are_float64_and_unrounded() -> None:
    truth = uniform_truth([10.0, 10.0, 10.0])
    report = score(truth, [10.1, 10.2, 10.4])
    assert report.mae == float(np.mean(np.abs(np.array([10.1, 10.2, 10.4]) - 10.0)))
    assert type(report.mae) is float


def test_scorer_version_is_named() -> None:
    assert SCORER_VERSION == "fairboard-scoring/1"


# --- validation --------------------------------------------------------------------------


def error_of(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    with pytest.raises(MetricInputError) as caught:
        call(*args, **kwargs)
    assert isinstance(caught.value, ScoringError)
    return str(caught.value)


def test_lengths_must_match_in_sklearn_style() -> None:
    message = error_of(mean_absolute_error, np.zeros(1978), np.zeros(1977))
    assert message == "y_true has 1978 rows but y_pred has 1977"
    assert message == LENGTH_MISMATCH.format(
        first="y_true", n_first=1978, second="y_pred", n_second=1977
    )


def test_score_names_the_test_set_and_the_predictions() -> None:
    truth, predictions = hand_computed_truth()
    message = error_of(score, truth, predictions[:5])
    assert message == "testset has 6 rows but predictions has 5"


@pytest.mark.parametrize(
    ("y_pred", "expected"),
    [
        (np.zeros((2, 2)), NOT_ONE_DIMENSIONAL.format(name="y_pred", shape=(2, 2))),
        (["a", "b"], NOT_NUMERIC.format(name="y_pred", dtype="<U1")),
        ([1.0, None], NOT_NUMERIC.format(name="y_pred", dtype="object")),
        ([], NO_ROWS.format(name="y_pred")),
        ([1.0, np.nan], NOT_FINITE.format(name="y_pred", count=1, index=1)),
        ([np.inf, -np.inf], "y_pred holds 2 NaN or infinite values, the first at index 0"),
    ],
    ids=["2d", "strings", "none", "empty", "nan", "inf"],
)
def test_bad_predictions_are_rejected(y_pred: object, expected: str) -> None:
    assert error_of(mean_absolute_error, [1.0, 2.0], y_pred) == expected


def test_group_codes_must_lie_in_range() -> None:
    message = error_of(group_mae, [1.0, 2.0], [1.0, 2.0], codes=[0, 2], n_groups=2)
    assert message == CODE_OUT_OF_RANGE.format(name="codes", n_groups=2, code=2, index=1)
    assert message == "codes must lie in [0, 2), found 2 at index 1"
    message = error_of(group_mae, [1.0, 2.0], [1.0, 2.0], codes=[-1, 0], n_groups=2)
    assert message == "codes must lie in [0, 2), found -1 at index 0"


def test_score_rejects_test_set_codes_out_of_range() -> None:
    truth, predictions = hand_computed_truth()
    truth.codes["gender"] = np.array([0, 1, 2, 0, 0, 0])
    message = error_of(score, truth, predictions)
    assert message == "gender group codes must lie in [0, 2), found 2 at index 2"


# --- properties ------------------------------------------------------------------------------

sizes = st.integers(min_value=2, max_value=60)


@settings(max_examples=60, deadline=None)
@given(n=sizes, seed=st.integers(0, 2**32 - 1))
def test_bias_is_never_negative(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y_true = rng.uniform(0, 90, n)
    y_pred = y_true + rng.normal(0, 10, n)
    assert (bias(y_true, y_pred, groups=rng.integers(0, 4, n)) or 0.0) >= 0.0
    report = score(random_truth(rng, n), y_pred)
    assert all(value is None or value >= 0.0 for value in report.scores().values())


@settings(max_examples=60, deadline=None)
@given(
    ages=st.lists(st.integers(0, 95), min_size=2, max_size=40),
    error=st.integers(0, 400).map(lambda k: k / 4),
    data=st.data(),
)
def test_bias_is_zero_when_every_group_has_the_same_mae(
    ages: list[int], error: float, data: st.DataObject
) -> None:
    signs = np.array(
        data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=len(ages), max_size=len(ages)))
    )
    groups = data.draw(st.lists(st.integers(0, 3), min_size=len(ages), max_size=len(ages)))
    y_true = np.asarray(ages, dtype=np.float64)
    y_pred = y_true + signs * error
    assert bias(y_true, y_pred, groups=groups) in (None, 0.0)
    truth = uniform_truth(y_true.tolist())
    report = score(truth, y_pred)
    assert report.age_bias in (None, 0.0)


@settings(max_examples=60, deadline=None)
@given(n=sizes, seed=st.integers(0, 2**32 - 1))
def test_scores_do_not_depend_on_row_order(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = random_truth(rng, n)
    predictions = truth.age + rng.normal(0, 8, n)
    order = rng.permutation(n)
    shuffled = Truth(
        age=truth.age[order],
        gender=[truth.gender[i] for i in order],
        ethnicity=[truth.ethnicity[i] for i in order],
        expression=[truth.expression[i] for i in order],
    )
    original, permuted = score(truth, predictions), score(shuffled, predictions[order])
    # Only the summation order changes, so equal up to float rounding.
    for name, value in original.scores().items():
        other = permuted.scores()[name]
        assert (value is None and other is None) or other == pytest.approx(
            value, rel=1e-12, abs=1e-12
        )
    for a, b in zip(original.attributes, permuted.attributes, strict=True):
        assert [g.size for g in a.groups] == [g.size for g in b.groups]
