"""Accuracy and bias metrics (SPEC §3): MAE, per-group MAE and the pairwise-gap bias.

Per-group results are computed once per attribute (one ``np.bincount`` for the sizes, one for
the sums of absolute errors) and the bias is derived from them, in float64 and unrounded.

Inputs are validated first; every bad input raises :class:`MetricInputError` with one of the
message constants below, in scikit-learn's style: what was expected and what was found. Ages
and predictions must lie within ±:data:`~scoring.numbers.MAX_ABS_PREDICTION` (SPEC §4), so no
sum can overflow and every score is finite: a :class:`ScoreReport` never holds NaN or
infinity (its constructor checks, and :func:`is_valid_report` lets a caller check a stored one).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from scoring.errors import MetricInputError
from scoring.groups import ATTRIBUTES
from scoring.numbers import MAX_ABS_PREDICTION
from scoring.reports import (
    INVALID_REPORT,
    REPORT_MISSING_KEY,
    REPORT_NOT_A_COUNT,
    REPORT_NOT_A_MAPPING,
    REPORT_NOT_A_NUMBER,
    REPORT_NOT_FINITE,
    AttributeResult,
    GroupResult,
    ScoreReport,
    is_valid_report,
    json_float,
)

__all__ = [
    "CODE_OUT_OF_RANGE",
    "INVALID_REPORT",
    "LENGTH_MISMATCH",
    "MAX_ABS_VALUE",
    "NOT_FINITE",
    "NOT_NUMERIC",
    "NOT_ONE_DIMENSIONAL",
    "NO_ROWS",
    "OUT_OF_RANGE",
    "REPORT_MISSING_KEY",
    "REPORT_NOT_A_COUNT",
    "REPORT_NOT_A_MAPPING",
    "REPORT_NOT_A_NUMBER",
    "REPORT_NOT_FINITE",
    "SCORER_VERSION",
    "AttributeResult",
    "GroundTruth",
    "GroupResult",
    "MetricInputError",
    "ScoreReport",
    "bias",
    "group_mae",
    "is_valid_report",
    "mean_absolute_error",
    "pairwise_gap",
    "score",
]

SCORER_VERSION = "fairboard-scoring/1"
"""Recorded with every score; bump it whenever the numbers for the same input could change."""

LENGTH_MISMATCH = "{first} has {n_first} rows but {second} has {n_second}"
NOT_ONE_DIMENSIONAL = "{name} must be 1-dimensional, got shape {shape}"
NO_ROWS = "{name} has no rows"
NOT_NUMERIC = "{name} must hold numbers, got dtype {dtype}"
NOT_FINITE = "{name} holds {count} NaN or infinite values, the first at index {index}"
CODE_OUT_OF_RANGE = "{name} must lie in [0, {n_groups}), found {code} at index {index}"
OUT_OF_RANGE = "{name} holds {count} values beyond ±{limit:,g}, the first at index {index}"
MAX_ABS_VALUE = MAX_ABS_PREDICTION
"""The largest absolute age or prediction the metrics accept (SPEC §4: ±10,000 years)."""
MAX_GROUP_MAE = 2 * MAX_ABS_VALUE
"""The largest MAE values within :data:`MAX_ABS_VALUE` can give."""


class GroundTruth(Protocol):
    """What :func:`score` needs from a test set; ``scoring.testset.TestSet`` provides it."""

    @property
    def age(self) -> npt.NDArray[np.float64]: ...

    def __len__(self) -> int: ...

    def group_codes(self, attribute: str) -> npt.NDArray[np.intp]: ...


def _as_values(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    """``values`` as a finite float64 vector; an ``(n, 1)`` column is accepted and flattened."""
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise MetricInputError(NOT_ONE_DIMENSIONAL.format(name=name, shape=array.shape))
    if array.dtype.kind not in "iuf":
        raise MetricInputError(NOT_NUMERIC.format(name=name, dtype=array.dtype))
    if len(array) == 0:
        raise MetricInputError(NO_ROWS.format(name=name))
    with np.errstate(over="ignore"):  # float128 or huge integers: caught as inf just below
        array = array.astype(np.float64, copy=False)
    _check_bounded(array, name, MAX_ABS_VALUE)
    return array


def _check_bounded(array: npt.NDArray[np.float64], name: str, limit: float) -> None:
    """Raise unless every value is finite (NaN allowed where ``array`` was pre-filtered)."""
    finite = np.isfinite(array)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise MetricInputError(NOT_FINITE.format(name=name, count=len(bad), index=int(bad[0])))
    beyond = np.abs(array) > limit
    if beyond.any():
        bad = np.flatnonzero(beyond)
        raise MetricInputError(
            OUT_OF_RANGE.format(name=name, count=len(bad), limit=limit, index=int(bad[0]))
        )


def _check_same_length(
    first: np.ndarray, first_name: str, second: np.ndarray, second_name: str
) -> None:
    if len(first) != len(second):
        raise MetricInputError(
            LENGTH_MISMATCH.format(
                first=first_name, n_first=len(first), second=second_name, n_second=len(second)
            )
        )


def _as_codes(
    codes: npt.ArrayLike, n_groups: int, *, name: str, rows: int, rows_name: str
) -> npt.NDArray[np.intp]:
    array = np.asarray(codes)
    if array.ndim != 1:
        raise MetricInputError(NOT_ONE_DIMENSIONAL.format(name=name, shape=array.shape))
    if len(array) != rows:
        raise MetricInputError(
            LENGTH_MISMATCH.format(first=rows_name, n_first=rows, second=name, n_second=len(array))
        )
    if array.dtype.kind not in "iu":
        raise MetricInputError(NOT_NUMERIC.format(name=name, dtype=array.dtype))
    out_of_range = (array < 0) | (array >= n_groups)
    if out_of_range.any():
        index = int(np.flatnonzero(out_of_range)[0])
        raise MetricInputError(
            CODE_OUT_OF_RANGE.format(
                name=name, n_groups=n_groups, code=int(array[index]), index=index
            )
        )
    return array.astype(np.intp, copy=False)


def _group_stats(
    absolute_error: npt.NDArray[np.float64], codes: npt.NDArray[np.intp], n_groups: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    sizes = np.bincount(codes, minlength=n_groups)
    sums = np.bincount(codes, weights=absolute_error, minlength=n_groups)
    maes = np.full(n_groups, np.nan)
    np.divide(sums, sizes, out=maes, where=sizes > 0)
    return sizes.astype(np.intp, copy=False), maes


def mean_absolute_error(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Mean of ``|y_pred - y_true|`` in float64 (SPEC §3 ``mae``).

    Example:
        >>> mean_absolute_error([20.0, 30.0, 40.0], [22.0, 30.0, 35.0])
        2.3333333333333335
    """
    true = _as_values(y_true, "y_true")
    pred = _as_values(y_pred, "y_pred")
    _check_same_length(true, "y_true", pred, "y_pred")
    return float(np.mean(np.abs(pred - true)))


def group_mae(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, *, codes: npt.ArrayLike, n_groups: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Sizes and MAEs of groups ``0 .. n_groups-1``; an empty group's MAE is NaN.

    ``codes[i]`` is the group of item ``i``, an integer in ``[0, n_groups)``.

    Example:
        >>> sizes, maes = group_mae([10.0, 20.0, 30.0], [12.0, 20.0, 33.0],
        ...                         codes=[0, 0, 2], n_groups=3)
        >>> sizes.tolist(), maes.tolist()
        ([2, 0, 1], [1.0, nan, 3.0])
    """
    true = _as_values(y_true, "y_true")
    pred = _as_values(y_pred, "y_pred")
    _check_same_length(true, "y_true", pred, "y_pred")
    group_codes = _as_codes(codes, n_groups, name="codes", rows=len(true), rows_name="y_true")
    return _group_stats(np.abs(pred - true), group_codes, n_groups)


def pairwise_gap(group_maes: npt.ArrayLike | Sequence[float | None]) -> float | None:
    """Mean of ``|MAE_i - MAE_j|`` over unordered pairs of non-empty groups (SPEC §3 bias).

    Empty groups are NaN (or None) and left out; with fewer than two non-empty groups the
    gap is undefined and ``None`` is returned.

    Example:
        >>> round(pairwise_gap([14.04, 19.18, 23.00, 31.80]), 6)
        9.516667
        >>> pairwise_gap([20.0, None]) is None
        True
    """
    try:
        maes = np.asarray(group_maes, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        maes = np.asarray(group_maes, dtype=object)
        raise MetricInputError(NOT_NUMERIC.format(name="group_maes", dtype=maes.dtype)) from None
    if maes.ndim != 1:
        raise MetricInputError(NOT_ONE_DIMENSIONAL.format(name="group_maes", shape=maes.shape))
    defined = [mae for mae in maes.tolist() if not math.isnan(mae)]
    _check_bounded(np.asarray(defined, dtype=np.float64), "group_maes", MAX_GROUP_MAE)
    if len(defined) < 2:
        return None
    # Attributes have a handful of groups: the pairs are few, and fsum makes the result
    # independent of the order in which the groups are listed.
    gaps = [abs(first - second) for first, second in itertools.combinations(defined, 2)]
    return math.fsum(gaps) / len(gaps)


def bias(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, *, groups: npt.ArrayLike) -> float | None:
    """Bias over the groups present in ``groups`` (labels or codes, one per item).

    Only groups that occur are considered, so none is empty; ``None`` when fewer than two
    groups occur.

    Example:
        >>> bias([10.0, 20.0, 30.0, 40.0], [11.0, 21.0, 34.0, 36.0],
        ...      groups=["female", "female", "male", "male"])
        3.0
    """
    true = _as_values(y_true, "y_true")
    pred = _as_values(y_pred, "y_pred")
    _check_same_length(true, "y_true", pred, "y_pred")
    labels = np.asarray(groups)
    if labels.ndim != 1:
        raise MetricInputError(NOT_ONE_DIMENSIONAL.format(name="groups", shape=labels.shape))
    _check_same_length(true, "y_true", labels, "groups")
    present, codes = np.unique(labels, return_inverse=True)
    _, maes = _group_stats(np.abs(pred - true), codes.astype(np.intp), len(present))
    return pairwise_gap(maes)


def score(testset: GroundTruth, predictions: npt.ArrayLike) -> ScoreReport:
    """Score predictions (aligned to the test set's canonical order) on all five scores.

    Example:
        >>> from scoring.testset import TestSet
        >>> truth = TestSet(ids=("a.jpg", "b.jpg"), age=[25.0, 61.0], gender=["female", "male"],
        ...                 ethnicity=["asian", "asian"], expression=["happy", "other"])
        >>> report = score(truth, [27.0, 60.0])
        >>> report.mae, report.gender_bias, report.ethnicity_bias
        (1.5, 1.0, None)
        >>> [(g.group, g.size, g.mae) for g in report.attributes[1].groups]
        [('female', 1, 2.0), ('male', 1, 1.0)]
    """
    y_true = _as_values(testset.age, "testset.age")
    y_pred = _as_values(predictions, "predictions")
    if len(y_true) != len(testset):
        raise MetricInputError(
            LENGTH_MISMATCH.format(
                first="testset", n_first=len(testset), second="testset.age", n_second=len(y_true)
            )
        )
    _check_same_length(y_true, "testset", y_pred, "predictions")
    absolute_error = np.abs(y_pred - y_true)
    attributes = []
    biases: dict[str, float | None] = {}
    for attribute in ATTRIBUTES:
        n_groups = len(attribute.groups)
        codes = _as_codes(
            testset.group_codes(attribute.name),
            n_groups,
            name=f"{attribute.name} group codes",
            rows=len(y_true),
            rows_name="testset",
        )
        sizes, maes = _group_stats(absolute_error, codes, n_groups)
        attribute_bias = pairwise_gap(maes)
        biases[attribute.score] = attribute_bias
        attributes.append(
            AttributeResult(
                attribute=attribute.name,
                groups=tuple(
                    GroupResult(group=group, size=int(size), mae=json_float(mae))
                    for group, size, mae in zip(
                        attribute.groups, sizes.tolist(), maes.tolist(), strict=True
                    )
                ),
                bias=attribute_bias,
            )
        )
    return ScoreReport(
        mae=float(np.mean(absolute_error)),
        age_bias=biases["age_bias"],
        gender_bias=biases["gender_bias"],
        ethnicity_bias=biases["ethnicity_bias"],
        expression_bias=biases["expression_bias"],
        attributes=tuple(attributes),
        n_items=len(y_true),
    )
