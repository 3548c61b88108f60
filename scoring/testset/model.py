"""The ground truth of a test set (SPEC §2): :class:`TestSet`, validated at construction."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from scoring.errors import excerpt, summarise
from scoring.groups import ATTRIBUTES, CATEGORICAL_ATTRIBUTES, age_group_codes, category_codes
from scoring.numbers import MAX_ABS_PREDICTION
from scoring.testset.messages import (
    COLUMN_LENGTH,
    LABEL_COLUMNS,
    NEGATIVE_NUMBER,
    NOT_FINITE,
    REAL_AGE_COLUMN,
    TOO_LARGE,
    UNKNOWN_VALUE,
    Problem,
    TestSetError,
    check_ids,
    expected_values,
    raise_problems,
)

UNKNOWN_ATTRIBUTE: Final = "unknown attribute {attribute!r}; expected one of {known}"
MASK_SHAPE: Final = "boolean index has shape {shape}, expected ({n},)"


def _frozen(array: npt.ArrayLike, dtype: npt.DTypeLike) -> np.ndarray:
    result = np.array(array, dtype=dtype)
    result.setflags(write=False)
    return result


@dataclass(frozen=True, eq=False)
class TestSet:
    """The ground truth of a test set, items in canonical order (SPEC §2).

    Construction normalises and validates: ``age`` becomes read-only float64, categories
    lower-case str arrays, and any empty or duplicate id, negative or non-finite age, unknown
    category value or column of the wrong length raises :class:`TestSetError` (rows are
    1-based item positions).

    Example:
        >>> ts = TestSet(ids=("a.jpg", "b.jpg"), age=[25.5, 61.0], gender=["Female", "male"],
        ...              ethnicity=["asian", "caucasian"], expression=["happy", "neutral"])
        >>> len(ts), ts.gender.tolist(), ts.group_codes("age").tolist()
        (2, ['female', 'male'], [1, 3])
    """

    __test__ = False  # not a pytest test class, despite the name

    ids: tuple[str, ...]
    age: np.ndarray
    gender: np.ndarray
    ethnicity: np.ndarray
    expression: np.ndarray
    real_age: np.ndarray | None = None
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)
    _codes: dict[str, npt.NDArray[np.intp]] = field(init=False, repr=False, compare=False)
    _fingerprint: str = field(init=False, default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = tuple(str(item) for item in self.ids)
        n = len(ids)
        columns: dict[str, Any] = {
            "age": self.age,
            "gender": self.gender,
            "ethnicity": self.ethnicity,
            "expression": self.expression,
            **({} if self.real_age is None else {REAL_AGE_COLUMN: self.real_age}),
            **self.extras,
        }
        wrong = [
            COLUMN_LENGTH.format(column=name, found=np.size(values), expected=n)
            for name, values in columns.items()
            if np.shape(values) != (n,)
        ]
        if wrong:
            raise TestSetError(summarise(wrong, "the test set"), wrong)

        # + 0.0 turns -0.0 into 0.0, so the fingerprint has one form for zero.
        age = _frozen(np.asarray(self.age, dtype=np.float64) + 0.0, np.float64)
        categories = {
            attribute.name: _frozen(
                np.strings.lower(
                    np.strings.strip(np.asarray(getattr(self, attribute.name), dtype=str))
                ),
                np.str_,
            )
            for attribute in CATEGORICAL_ATTRIBUTES
        }
        real_age = (
            None
            if self.real_age is None
            else _frozen(np.asarray(self.real_age, dtype=np.float64) + 0.0, np.float64)
        )
        extras = MappingProxyType(
            {str(name): _frozen(values, np.str_) for name, values in self.extras.items()}
        )

        codes = {"age": _frozen(age_group_codes(age), np.intp)}
        codes.update(
            (a.name, _frozen(category_codes(a, categories[a.name]), np.intp))
            for a in CATEGORICAL_ATTRIBUTES
        )
        problems: list[Problem] = []
        check_ids(ids, "id", problems, keys=[item if item.strip() else "" for item in ids])
        # real_age may be NaN (not known); age may not.
        for name, values, bad in (
            ("age", age, ~np.isfinite(age)),
            (REAL_AGE_COLUMN, real_age, None if real_age is None else np.isinf(real_age)),
        ):
            if values is None or bad is None:
                continue
            problems += [
                (int(i) + 1, NOT_FINITE.format(row=int(i) + 1, column=name, value=str(values[i])))
                for i in np.flatnonzero(bad)
            ]
            problems += [
                (
                    int(i) + 1,
                    NEGATIVE_NUMBER.format(row=int(i) + 1, column=name, value=str(values[i])),
                )
                for i in np.flatnonzero(values < 0)
            ]
            problems += [
                (int(i) + 1, TOO_LARGE.format(row=int(i) + 1, column=name, value=str(values[i])))
                for i in np.flatnonzero(values > MAX_ABS_PREDICTION)
            ]
        for attribute in CATEGORICAL_ATTRIBUTES:
            given = np.asarray(getattr(self, attribute.name), dtype=str)
            problems += [
                (
                    int(i) + 1,
                    UNKNOWN_VALUE.format(
                        row=int(i) + 1,
                        column=attribute.name,
                        value=excerpt(str(given[i])),
                        expected=expected_values(attribute.groups),
                    ),
                )
                for i in np.flatnonzero(codes[attribute.name] < 0)
            ]
        raise_problems({"the test set": problems})

        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "age", age)
        for name, values in categories.items():
            object.__setattr__(self, name, values)
        object.__setattr__(self, "real_age", real_age)
        object.__setattr__(self, "extras", extras)
        object.__setattr__(self, "_codes", codes)

    def __len__(self) -> int:
        """The number of items.

        Example:
            >>> len(TestSet(ids=("a",), age=[3.0], gender=["male"], ethnicity=["asian"],
            ...             expression=["other"]))
            1
        """
        return len(self.ids)

    def group_codes(self, attribute: str) -> npt.NDArray[np.intp]:
        """Group codes of every item for ``attribute`` (indices into its ``groups``), read-only.

        ``attribute`` is ``"age"``, ``"gender"``, ``"ethnicity"`` or ``"expression"``; the
        codes are computed once, at construction.

        Example:
            >>> ts = TestSet(ids=("a", "b"), age=[19.9, 20.0], gender=["male", "female"],
            ...              ethnicity=["asian", "asian"], expression=["happy", "other"])
            >>> ts.group_codes("age").tolist(), ts.group_codes("gender").tolist()
            ([0, 1], [1, 0])
        """
        if attribute not in self._codes:
            known = ", ".join(self._codes)
            raise KeyError(UNKNOWN_ATTRIBUTE.format(attribute=excerpt(attribute), known=known))
        return self._codes[attribute]

    def group_sizes(self) -> dict[str, dict[str, int]]:
        """Items per group of every attribute, empty groups included, in the groups' order.

        Example:
            >>> ts = TestSet(ids=("a", "b"), age=[5.0, 70.0], gender=["male", "male"],
            ...              ethnicity=["asian", "asian"], expression=["happy", "other"])
            >>> ts.group_sizes()["age"]
            {'0-19': 1, '20-39': 0, '40-59': 0, '60+': 1}
        """
        sizes: dict[str, dict[str, int]] = {}
        for attribute in ATTRIBUTES:
            counts = np.bincount(self.group_codes(attribute.name), minlength=len(attribute.groups))
            sizes[attribute.name] = {
                group: int(count) for group, count in zip(attribute.groups, counts, strict=True)
            }
        return sizes

    def fingerprint(self) -> str:
        """``"sha256:<hex>"`` of the scored labels: ids, ages and categories in canonical order.

        The serialisation is JSON with Python's shortest round-trip float repr, so the value is
        the same on every run and platform; ``real_age`` and extras are not part of it. The
        labels are read-only, so it is computed once per instance (each interval seed reads it).

        Example:
            >>> ts = TestSet(ids=("a",), age=[3.0], gender=["male"], ethnicity=["asian"],
            ...              expression=["other"])
            >>> ts.fingerprint().startswith("sha256:"), len(ts.fingerprint())
            (True, 71)
        """
        if self._fingerprint:
            return self._fingerprint
        canonical = {
            "format": "fairboard-testset-labels-v1",
            "id": list(self.ids),
            "age": [float(value) for value in self.age],
            **{a.name: getattr(self, a.name).tolist() for a in CATEGORICAL_ATTRIBUTES},
        }
        payload = json.dumps(canonical, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
        digest = "sha256:" + hashlib.sha256(payload.encode("ascii")).hexdigest()
        object.__setattr__(self, "_fingerprint", digest)
        return digest

    def subset(self, index: npt.ArrayLike) -> TestSet:
        """The items at ``index`` (integer positions in the given order, or a boolean mask).

        Example:
            >>> ts = TestSet(ids=("a", "b", "c"), age=[1.0, 2.0, 3.0], gender=["male"] * 3,
            ...              ethnicity=["asian"] * 3, expression=["happy"] * 3)
            >>> ts.subset([2, 0]).ids, ts.subset([False, True, False]).ids
            (('c', 'a'), ('b',))
        """
        positions = np.asarray(index)
        if positions.dtype == np.bool_:
            if positions.shape != (len(self),):
                raise IndexError(MASK_SHAPE.format(shape=positions.shape, n=len(self)))
            positions = np.flatnonzero(positions)
        if positions.size == 0:
            positions = positions.astype(np.intp)
        positions = positions.astype(np.intp, casting="safe").reshape(-1)
        return TestSet(
            ids=tuple(self.ids[position] for position in positions),
            age=self.age[positions],
            gender=self.gender[positions],
            ethnicity=self.ethnicity[positions],
            expression=self.expression[positions],
            real_age=None if self.real_age is None else self.real_age[positions],
            extras={name: values[positions] for name, values in self.extras.items()},
        )

    def to_labels_csv(self, path: Path) -> None:
        """Write a generic ``labels.csv`` that :func:`read_labels` reads back identically.

        Columns: id, age, gender, ethnicity, expression, then real_age (when present; integral
        values without a decimal point, missing values empty), then the extras. Ages use the
        shortest round-trip repr, so the fingerprint survives the round trip.

        Example:
            >>> import tempfile
            >>> ts = TestSet(ids=("a.png",), age=[25.5], gender=["male"], ethnicity=["asian"],
            ...              expression=["other"], real_age=[27.0])
            >>> with tempfile.TemporaryDirectory() as folder:
            ...     ts.to_labels_csv(Path(folder) / "labels.csv")
            ...     print((Path(folder) / "labels.csv").read_text(), end="")
            id,age,gender,ethnicity,expression,real_age
            a.png,25.5,male,asian,other,27
        """
        header = list(LABEL_COLUMNS)
        columns: list[list[str]] = [
            list(self.ids),
            [repr(float(value)) for value in self.age],
            self.gender.tolist(),
            self.ethnicity.tolist(),
            self.expression.tolist(),
        ]
        if self.real_age is not None:
            header.append(REAL_AGE_COLUMN)
            columns.append([_format_optional_number(value) for value in self.real_age])
        for name, values in self.extras.items():
            header.append(name)
            columns.append(values.tolist())
        with open(path, "w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(zip(*columns, strict=True))


def _format_optional_number(value: float) -> str:
    if np.isnan(value):
        return ""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))
