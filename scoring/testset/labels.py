"""Labels files: the generic ``labels.csv`` and APPA-REAL's two CSVs, read into a TestSet."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from scoring.errors import excerpt
from scoring.groups import ATTRIBUTES_BY_NAME, CATEGORICAL_ATTRIBUTES, Attribute
from scoring.numbers import MAX_ABS_PREDICTION, parse_decimal
from scoring.testset.messages import (
    APPA_CATEGORIES_FILE,
    APPA_CATEGORY_COLUMNS,
    APPA_FACE_SUFFIX,
    APPA_GT_COLUMNS,
    APPA_GT_FILE,
    APPA_UNMATCHED,
    BAD_CSV,
    DUPLICATE_COLUMN,
    EMPTY_FILE,
    LABEL_COLUMNS,
    MISSING_COLUMN,
    NEGATIVE_NUMBER,
    NO_DATA_ROWS,
    NOT_A_NUMBER,
    NOT_FINITE,
    NOT_UTF8,
    REAL_AGE_COLUMN,
    TOO_LARGE,
    UNKNOWN_VALUE,
    WRONG_FIELD_COUNT,
    Problem,
    TestSetError,
    check_ids,
    expected_values,
    raise_problems,
)
from scoring.testset.model import TestSet

HEADER_CHARS: Final = 200
"""A header or a CSV error is quoted up to this length: column names are the organizer's."""


@dataclass
class _Table:
    """A CSV file: lower-case header, stripped non-blank data rows, problems of its shape."""

    file: str
    header: list[str]
    rows: list[list[str]]
    problems: list[Problem]

    def column(self, name: str) -> list[str]:
        index = self.header.index(name)
        return [row[index] if index < len(row) else "" for row in self.rows]


def _read_table(data: bytes, file: str) -> _Table:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TestSetError(NOT_UTF8.format(file=file, reason=error.reason)) from None
    if not text.strip():
        raise TestSetError(EMPTY_FILE.format(file=file))
    try:
        records = [
            [cell.strip() for cell in record]
            for record in csv.reader(io.StringIO(text, newline=""), strict=True)
            if any(cell.strip() for cell in record)
        ]
    except csv.Error as error:
        raise TestSetError(
            BAD_CSV.format(file=file, reason=excerpt(str(error), HEADER_CHARS))
        ) from None
    header = [name.lower() for name in records[0]]
    rows = records[1:]
    if not rows:
        raise TestSetError(NO_DATA_ROWS.format(file=file))
    problems: list[Problem] = [
        (0, DUPLICATE_COLUMN.format(column=excerpt(name)))
        for name, count in Counter(header).items()
        if count > 1 and name
    ]
    problems += [
        (row, WRONG_FIELD_COUNT.format(row=row, found=len(record), expected=len(header)))
        for row, record in enumerate(rows, start=1)
        if len(record) != len(header)
    ]
    return _Table(file, header, rows, problems)


def _require_columns(table: _Table, required: Sequence[str]) -> None:
    missing = [
        (
            0,
            MISSING_COLUMN.format(
                column=name, found=excerpt(", ".join(table.header), HEADER_CHARS) or "no columns"
            ),
        )
        for name in required
        if name not in table.header
    ]
    raise_problems({table.file: table.problems + missing} if missing else {})


def _parse_numbers(
    values: Sequence[str], column: str, problems: list[Problem], *, required: bool
) -> npt.NDArray[np.float64]:
    """Non-negative finite numbers; an empty cell is NaN when not ``required``."""
    numbers = np.full(len(values), np.nan)
    for row, value in enumerate(values, start=1):
        if not value and not required:
            continue
        number = parse_decimal(value)
        if number is None:
            message = NOT_FINITE if _is_nan_or_infinity(value) else NOT_A_NUMBER
        elif number < 0:
            message = NEGATIVE_NUMBER
        elif number > MAX_ABS_PREDICTION:
            message = TOO_LARGE
        else:
            numbers[row - 1] = number
            continue
        problems.append((row, message.format(row=row, column=column, value=excerpt(value))))
    return numbers


def _is_nan_or_infinity(value: str) -> bool:
    try:
        return not np.isfinite(float(value))
    except ValueError:
        return False


def _parse_category(
    values: Sequence[str], attribute: Attribute, column: str, problems: list[Problem]
) -> list[str]:
    normalised = [value.lower() for value in values]
    allowed = set(attribute.groups)
    for row, (value, lower) in enumerate(zip(values, normalised, strict=True), start=1):
        if lower not in allowed:
            problems.append(
                (
                    row,
                    UNKNOWN_VALUE.format(
                        row=row,
                        column=column,
                        value=excerpt(value),
                        expected=expected_values(attribute.groups),
                    ),
                )
            )
    return normalised


def _extras(table: _Table, used: Sequence[str]) -> dict[str, np.ndarray]:
    return {
        name: np.asarray(table.column(name), dtype=str)
        for name in dict.fromkeys(table.header)
        if name and name not in used
    }


def generic_labels(data: bytes, file: str) -> TestSet:
    table = _read_table(data, file)
    _require_columns(table, LABEL_COLUMNS)
    problems = list(table.problems)
    ids = check_ids(table.column("id"), "id", problems)
    age = _parse_numbers(table.column("age"), "age", problems, required=True)
    real_age = (
        _parse_numbers(table.column(REAL_AGE_COLUMN), REAL_AGE_COLUMN, problems, required=False)
        if REAL_AGE_COLUMN in table.header
        else None
    )
    categories = {
        attribute.name: np.asarray(
            _parse_category(table.column(attribute.name), attribute, attribute.name, problems)
        )
        for attribute in CATEGORICAL_ATTRIBUTES
    }
    raise_problems({file: problems})
    return TestSet(
        ids=tuple(ids),
        age=age,
        real_age=None if real_age is None or np.isnan(real_age).all() else real_age,
        extras=_extras(table, (*LABEL_COLUMNS, REAL_AGE_COLUMN)),
        **categories,
    )


def _appa_key(file_value: str) -> str:
    """The ``file_name`` an ``allcategories`` ``file`` refers to (face-crop names included)."""
    if file_value.endswith(APPA_FACE_SUFFIX):
        return file_value[: -len(APPA_FACE_SUFFIX)]
    return file_value


def appa_labels(
    gt_data: bytes,
    categories_data: bytes,
    *,
    gt_file: str = APPA_GT_FILE,
    categories_file: str = APPA_CATEGORIES_FILE,
) -> TestSet:
    gt = _read_table(gt_data, gt_file)
    categories = _read_table(categories_data, categories_file)
    _require_columns(gt, APPA_GT_COLUMNS)
    _require_columns(categories, APPA_CATEGORY_COLUMNS)
    gt_problems = list(gt.problems)
    category_problems = list(categories.problems)

    ids = check_ids(gt.column("file_name"), "file_name", gt_problems)
    age = _parse_numbers(
        gt.column("apparent_age_avg"), "apparent_age_avg", gt_problems, required=True
    )
    real_age = (
        _parse_numbers(gt.column(REAL_AGE_COLUMN), REAL_AGE_COLUMN, gt_problems, required=False)
        if REAL_AGE_COLUMN in gt.header
        else None
    )
    files = categories.column("file")
    keys = [_appa_key(value) for value in files]
    check_ids(files, "file", category_problems, keys=keys)
    by_attribute = {
        "gender": _parse_category(
            categories.column("gender"), ATTRIBUTES_BY_NAME["gender"], "gender", category_problems
        ),
        "ethnicity": _parse_category(
            categories.column("race"), ATTRIBUTES_BY_NAME["ethnicity"], "race", category_problems
        ),
        "expression": _parse_category(
            categories.column("happiness"),
            ATTRIBUTES_BY_NAME["expression"],
            "happiness",
            category_problems,
        ),
    }
    category_row = {key: row for row, key in enumerate(keys) if key}
    id_set = set(ids)
    for row, file_name in enumerate(ids, start=1):
        if file_name and file_name not in category_row:
            gt_problems.append(
                (
                    row,
                    APPA_UNMATCHED.format(
                        row=row, column="file_name", value=excerpt(file_name), other=categories_file
                    ),
                )
            )
    for row, (key, file_value) in enumerate(zip(keys, files, strict=True), start=1):
        if key and key not in id_set:
            category_problems.append(
                (
                    row,
                    APPA_UNMATCHED.format(
                        row=row, column="file", value=excerpt(file_value), other=gt_file
                    ),
                )
            )
    raise_problems({gt_file: gt_problems, categories_file: category_problems})

    order = [category_row[file_name] for file_name in ids]
    extras = _extras(gt, (*APPA_GT_COLUMNS, REAL_AGE_COLUMN))
    for name, values in _extras(categories, APPA_CATEGORY_COLUMNS).items():
        extras.setdefault(name, values[order])
    return TestSet(
        ids=tuple(ids),
        age=age,
        real_age=None if real_age is None or np.isnan(real_age).all() else real_age,
        extras=extras,
        **{name: np.asarray(values)[order] for name, values in by_attribute.items()},
    )
