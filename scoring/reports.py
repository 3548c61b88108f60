"""Score reports (SPEC §3): the five scores with every attribute's per-group breakdown.

A :class:`ScoreReport` never holds NaN or infinity: its constructor validates it, and
:meth:`ScoreReport.from_dict` refuses a stored report with a missing key, a wrong type or a
number that is not finite. :func:`is_valid_report` answers the same question with a bool, for
a service that must show a stored record as "n/a" rather than fail. ``scoring.metrics``
re-exports every name here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scoring.errors import MetricInputError, excerpt
from scoring.groups import SCORE_NAMES

__all__ = [
    "INVALID_REPORT",
    "REPORT_MISSING_KEY",
    "REPORT_NOT_A_COUNT",
    "REPORT_NOT_A_MAPPING",
    "REPORT_NOT_A_NUMBER",
    "REPORT_NOT_FINITE",
    "AttributeResult",
    "GroupResult",
    "ScoreReport",
    "is_valid_report",
    "json_float",
]

INVALID_REPORT = "not a score report: {reason}"
# Reasons of INVALID_REPORT:
REPORT_NOT_A_MAPPING = "expected a mapping, got {type}"
REPORT_MISSING_KEY = "missing {key}"
REPORT_NOT_A_NUMBER = "{field} must be a number, got {value}"
REPORT_NOT_FINITE = "{field} must be a finite number{or_none}, got {value}"
REPORT_NOT_A_COUNT = "{field} must be a non-negative integer, got {value}"


@dataclass(frozen=True)
class GroupResult:
    """One group of an attribute: its name, its number of items and its MAE (None if empty).

    Example:
        >>> GroupResult("female", 716, 20.73).mae
        20.73
    """

    group: str
    size: int
    mae: float | None


@dataclass(frozen=True)
class AttributeResult:
    """The per-group MAEs of one attribute and its bias (None with fewer than 2 groups).

    Example:
        >>> female, male = GroupResult("female", 2, 20.73), GroupResult("male", 3, 19.40)
        >>> AttributeResult("gender", (female, male), 1.33).bias
        1.33
    """

    attribute: str
    groups: tuple[GroupResult, ...]
    bias: float | None


@dataclass(frozen=True)
class ScoreReport:
    """The five scores of SPEC §3 with every attribute's per-group breakdown.

    Example:
        >>> report = ScoreReport(5.0, 1.0, 0.5, None, 2.0, attributes=(), n_items=10)
        >>> report.scores()["ethnicity_bias"] is None
        True
        >>> ScoreReport.from_dict(report.to_dict()) == report
        True
    """

    mae: float
    age_bias: float | None
    gender_bias: float | None
    ethnicity_bias: float | None
    expression_bias: float | None
    attributes: tuple[AttributeResult, ...]
    n_items: int

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`MetricInputError` unless every number is finite (or None where allowed).

        ``mae`` must be finite; the four biases and every group MAE finite or None; sizes and
        ``n_items`` non-negative integers. The constructor calls it, so a report that exists is
        valid; :func:`is_valid_report` applies it to a stored dict.

        Example:
            >>> try:
            ...     ScoreReport(float("nan"), None, None, None, None, (), 3)
            ... except MetricInputError as error:
            ...     print(error)
            not a score report: mae must be a finite number, got nan
        """
        _check_number(self.mae, "mae", optional=False)
        for name in SCORE_NAMES[1:]:
            _check_number(getattr(self, name), name, optional=True)
        _check_count(self.n_items, "n_items")
        for attribute in self.attributes:
            _check_number(attribute.bias, f"{attribute.attribute} bias", optional=True)
            for group in attribute.groups:
                where = f"{attribute.attribute} group {group.group}"
                _check_number(group.mae, f"{where} mae", optional=True)
                _check_count(group.size, f"{where} size")

    def scores(self) -> dict[str, float | None]:
        """The five scores keyed by the names of SPEC §3, in that order.

        Example:
            >>> ScoreReport(5.0, 1.0, 0.5, None, 2.0, attributes=(), n_items=10).scores()
            {'mae': 5.0, 'age_bias': 1.0, 'gender_bias': 0.5, 'ethnicity_bias': None, \
'expression_bias': 2.0}
        """
        return {name: getattr(self, name) for name in SCORE_NAMES}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: the five scores at the top, ``n_items``, and ``attributes``.

        Undefined values are ``None`` (JSON ``null``), never NaN; floats are unrounded.

        Example:
            >>> group = GroupResult("female", 0, None)
            >>> report = ScoreReport(5.0, None, None, None, None,
            ...                      (AttributeResult("gender", (group,), None),), 1)
            >>> report.to_dict()["attributes"]
            [{'attribute': 'gender', 'bias': None, 'groups': [{'group': 'female', 'size': 0, \
'mae': None}]}]
        """
        return {
            **{name: json_float(value) for name, value in self.scores().items()},
            "n_items": self.n_items,
            "attributes": [
                {
                    "attribute": attribute.attribute,
                    "bias": json_float(attribute.bias),
                    "groups": [
                        {"group": group.group, "size": group.size, "mae": json_float(group.mae)}
                        for group in attribute.groups
                    ],
                }
                for attribute in self.attributes
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoreReport:
        """Rebuild a report from :meth:`to_dict`'s output; unknown keys are ignored.

        Raises :class:`MetricInputError` (``INVALID_REPORT``) when a key is missing, has the
        wrong type or holds a number that is not finite.

        Example:
            >>> ScoreReport.from_dict({"mae": 5.0, "age_bias": None, "gender_bias": None,
            ...     "ethnicity_bias": None, "expression_bias": None, "n_items": 3,
            ...     "attributes": []}).mae
            5.0
        """
        if not isinstance(data, Mapping):
            reason = REPORT_NOT_A_MAPPING.format(type=type(data).__name__)
            raise MetricInputError(INVALID_REPORT.format(reason=reason))
        try:
            attributes = tuple(
                AttributeResult(
                    attribute=str(attribute["attribute"]),
                    groups=tuple(
                        GroupResult(
                            group=str(group["group"]),
                            size=_count(group["size"], "size"),
                            mae=_optional_float(group["mae"]),
                        )
                        for group in attribute["groups"]
                    ),
                    bias=_optional_float(attribute["bias"]),
                )
                for attribute in data["attributes"]
            )
            return cls(
                mae=_number(data["mae"], "mae"),
                age_bias=_optional_float(data["age_bias"]),
                gender_bias=_optional_float(data["gender_bias"]),
                ethnicity_bias=_optional_float(data["ethnicity_bias"]),
                expression_bias=_optional_float(data["expression_bias"]),
                attributes=attributes,
                n_items=_count(data["n_items"], "n_items"),
            )
        except KeyError as exc:
            reason = REPORT_MISSING_KEY.format(key=excerpt(repr(exc.args[0])))
            raise MetricInputError(INVALID_REPORT.format(reason=reason)) from None
        except (TypeError, AttributeError) as exc:
            # A list where a mapping belongs, or the reverse: the report's shape is wrong.
            reason = excerpt(str(exc), 200)
            raise MetricInputError(INVALID_REPORT.format(reason=reason)) from None


def json_float(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _invalid(template: str, **fields: Any) -> MetricInputError:
    return MetricInputError(INVALID_REPORT.format(reason=template.format(**fields)))


def _number(value: Any, field: str) -> float:
    """A stored JSON number as float; bools, strings and the like are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(REPORT_NOT_A_NUMBER, field=field, value=excerpt(repr(value)))
    try:
        return float(value)
    except OverflowError:  # an integer beyond float64
        raise _invalid(REPORT_NOT_FINITE, field=field, or_none="", value="a huge integer") from None


def _optional_float(value: Any, field: str = "value") -> float | None:
    return None if value is None else _number(value, field)


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid(REPORT_NOT_A_COUNT, field=field, value=excerpt(repr(value)))
    return value


def _check_number(value: Any, field: str, *, optional: bool) -> None:
    if value is None and optional:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(float(value))
    ):
        or_none = " or None" if optional else ""
        raise _invalid(REPORT_NOT_FINITE, field=field, or_none=or_none, value=excerpt(repr(value)))


def _check_count(value: Any, field: str) -> None:
    _count(value, field)


def is_valid_report(data: Any) -> bool:
    """Whether ``data`` (e.g. a stored ``report`` JSON) is a complete, valid score report.

    True when :meth:`ScoreReport.from_dict` accepts it: the five scores of SPEC §3 present,
    ``mae`` finite, the biases and group MAEs finite or None, sizes and ``n_items``
    non-negative integers. Use :meth:`ScoreReport.from_dict` to get the reason when False.

    Example:
        >>> report = ScoreReport(5.0, 1.0, 0.5, None, 2.0, attributes=(), n_items=10)
        >>> is_valid_report(report.to_dict())
        True
        >>> is_valid_report(report.to_dict() | {"mae": None}), is_valid_report("junk")
        (False, False)
    """
    try:
        ScoreReport.from_dict(data)
    except MetricInputError:
        return False
    return True
