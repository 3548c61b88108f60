"""Scores are finite whatever the metrics are given (issue 9): inputs beyond ±10,000 are refused
with a named error, a ScoreReport never holds NaN or infinity, and a stored report can be
checked before it is shown."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from scoring.metrics import (
    INVALID_REPORT,
    NOT_FINITE,
    OUT_OF_RANGE,
    REPORT_MISSING_KEY,
    REPORT_NOT_A_COUNT,
    REPORT_NOT_A_MAPPING,
    REPORT_NOT_A_NUMBER,
    REPORT_NOT_FINITE,
    MetricInputError,
    ScoreReport,
    bias,
    group_mae,
    is_valid_report,
    mean_absolute_error,
    pairwise_gap,
    score,
)
from scoring.testset import TestSet

TRUTH = TestSet(
    ids=("a", "b", "c", "d"),
    age=[10.0, 30.0, 50.0, 70.0],
    gender=["female", "male", "female", "male"],
    ethnicity=["asian", "asian", "caucasian", "afroamerican"],
    expression=["happy", "neutral", "other", "slightlyhappy"],
)


def refused(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(MetricInputError) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def test_two_predictions_of_1e308_are_refused_not_summed_to_infinity() -> None:
    assert refused(score, TRUTH, [1e308, 20.0, 30.0, 1e308]) == (
        "predictions holds 2 values beyond ±10,000, the first at index 0"
    )
    assert refused(score, TRUTH, [1e308, 20.0, 30.0, 1e308]) == OUT_OF_RANGE.format(
        name="predictions", count=2, limit=10_000, index=0
    )


def test_every_metric_refuses_values_beyond_the_bound() -> None:
    huge = [0.0, -1e308]
    expected = OUT_OF_RANGE.format(name="y_pred", count=1, limit=10_000, index=1)
    assert refused(mean_absolute_error, [0.0, 0.0], huge) == expected
    assert refused(group_mae, [0.0, 0.0], huge, codes=[0, 1], n_groups=2) == expected
    assert refused(bias, [0.0, 0.0], huge, groups=["a", "b"]) == expected
    assert refused(mean_absolute_error, [2**62, 0], [0.0, 0.0]) == OUT_OF_RANGE.format(
        name="y_true", count=1, limit=10_000, index=0
    )


def test_the_bounds_themselves_are_scored() -> None:
    assert mean_absolute_error([10_000.0, -10_000.0], [-10_000.0, 10_000.0]) == 20_000.0


def test_a_gap_between_huge_or_infinite_group_maes_is_refused() -> None:
    assert refused(pairwise_gap, [1e308, 0.0, np.nan]) == OUT_OF_RANGE.format(
        name="group_maes", count=1, limit=20_000, index=0
    )
    assert refused(pairwise_gap, [np.inf, 1.0]) == NOT_FINITE.format(
        name="group_maes", count=1, index=0
    )


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        4,
        elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
    )
)
def test_score_gives_a_finite_report_or_a_named_error_for_any_predictions(
    predictions: np.ndarray,
) -> None:
    try:
        report = score(TRUTH, predictions)
    except MetricInputError:
        assert not (np.isfinite(predictions) & (np.abs(predictions) <= 10_000)).all()
    else:
        assert is_valid_report(report.to_dict())
        assert all(v is None or math.isfinite(v) for v in report.scores().values())


# --- score reports ---------------------------------------------------------------------------

VALID = score(TRUTH, [12.0, 29.0, 55.0, 70.0]).to_dict()


def invalid(data: Any) -> str:
    return refused(ScoreReport.from_dict, data)


def reason(template: str, **fields: Any) -> str:
    return INVALID_REPORT.format(reason=template.format(**fields))


def test_a_report_with_non_finite_numbers_cannot_be_built() -> None:
    assert refused(ScoreReport, math.nan, None, None, None, None, (), 4) == reason(
        REPORT_NOT_FINITE, field="mae", or_none="", value="nan"
    )
    assert refused(ScoreReport, 1.0, math.inf, None, None, None, (), 4) == reason(
        REPORT_NOT_FINITE, field="age_bias", or_none=" or None", value="inf"
    )


def test_a_stored_report_is_valid_only_when_complete_and_finite() -> None:
    assert is_valid_report(VALID)
    assert ScoreReport.from_dict(VALID).to_dict() == VALID
    corrupt = [
        VALID | {"mae": None},
        VALID | {"mae": "5.0"},
        VALID | {"gender_bias": True},
        VALID | {"n_items": -1},
        VALID | {"mae": 10**400},
        {key: value for key, value in VALID.items() if key != "expression_bias"},
        VALID | {"attributes": [{"attribute": "age", "bias": 1.0, "groups": [None]}]},
        ["not", "a", "mapping"],
        None,
    ]
    assert [is_valid_report(data) for data in corrupt] == [False] * len(corrupt)


def test_an_invalid_stored_report_says_why() -> None:
    assert invalid(VALID | {"mae": None}) == reason(REPORT_NOT_A_NUMBER, field="mae", value="None")
    assert invalid(VALID | {"mae": "5.0"}) == reason(
        REPORT_NOT_A_NUMBER, field="mae", value="'5.0'"
    )
    assert invalid(VALID | {"n_items": 2.5}) == reason(
        REPORT_NOT_A_COUNT, field="n_items", value="2.5"
    )
    assert invalid(VALID | {"mae": 10**400}) == reason(
        REPORT_NOT_FINITE, field="mae", or_none="", value="a huge integer"
    )
    missing = {key: value for key, value in VALID.items() if key != "age_bias"}
    assert invalid(missing) == reason(REPORT_MISSING_KEY, key="'age_bias'")
    assert invalid([1, 2]) == reason(REPORT_NOT_A_MAPPING, type="list")
    assert invalid(VALID | {"mae": "x" * 10_000}).endswith("xxx...")
