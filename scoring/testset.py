"""The hidden test set: its labels, the layouts it arrives in, validation and import (SPEC §2).

A test set arrives as a folder or a ``.zip`` in one of three layouts, detected automatically,
either at the top level or inside one top-level folder:

- ``generic``: ``labels.csv`` (``id, age, gender, ethnicity, expression[, real_age]``) plus
  ``images/<id>`` (JPEG or PNG, any size);
- ``appa-real``: ``gt_avg_test.csv`` + ``allcategories_test.csv`` + images in ``test/``;
- ``array``: ``images.npy`` (uint8 N×H×W×3 RGB) + ``labels.csv`` in the same row order.

:func:`read_labels` reads the labels only; :func:`import_testset` validates everything (labels,
zip safety, every image present and decodable) and stores ``labels.csv``, ``images.npy`` and
``report.json`` in a new folder, atomically.

Row numbers in messages are 1-based **data rows**: row 1 is the first record after the header
and blank lines are neither kept nor counted, so row ``r`` is item ``r - 1`` of the canonical
order (and ``images.npy[r - 1]`` in the array layout). In the APPA-REAL layout the canonical
order is the row order of ``gt_avg_test.csv``.

Every bad input raises :class:`TestSetError`; its ``problems`` list holds every problem found
and its message counts them and lists the first few. The message templates are the module
constants below, asserted word for word by the tests.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from scoring.errors import ScoringError
from scoring.groups import (
    ATTRIBUTES,
    ATTRIBUTES_BY_NAME,
    CATEGORICAL_ATTRIBUTES,
    Attribute,
    age_group_codes,
    category_codes,
)

__all__ = [
    "DEFAULT_MAX_TOTAL_BYTES",
    "ImportReport",
    "TestSet",
    "TestSetError",
    "import_testset",
    "read_labels",
]

# --- Names ------------------------------------------------------------------------------------

LAYOUT_GENERIC: Final = "generic"
LAYOUT_APPA_REAL: Final = "appa-real"
LAYOUT_ARRAY: Final = "array"

LABELS_FILE: Final = "labels.csv"
IMAGES_DIR: Final = "images"
IMAGES_NPY: Final = "images.npy"
REPORT_FILE: Final = "report.json"
APPA_GT_FILE: Final = "gt_avg_test.csv"
APPA_CATEGORIES_FILE: Final = "allcategories_test.csv"
APPA_IMAGES_DIR: Final = "test"
APPA_FACE_SUFFIX: Final = "_face.jpg"
SYNTHETIC_MARKER: Final = "SYNTHETIC.txt"
"""A file whose presence at the layout root marks a synthetic test set; the import keeps it."""

LABEL_COLUMNS: Final = ("id", "age", "gender", "ethnicity", "expression")
"""Required columns of a generic ``labels.csv``; ``real_age`` is optional, others are extras."""
REAL_AGE_COLUMN: Final = "real_age"
APPA_GT_COLUMNS: Final = ("file_name", "apparent_age_avg")
APPA_CATEGORY_COLUMNS: Final = ("file", "gender", "race", "happiness")

# --- Limits -----------------------------------------------------------------------------------

DEFAULT_IMAGE_SIZE: Final = (224, 224)
DEFAULT_MAX_TOTAL_BYTES: Final = 8 * 2**30
"""Largest uncompressed total a test-set zip may declare."""
MAX_COMPRESSION_RATIO: Final = 200
"""Largest uncompressed/compressed ratio of one zip entry of at least RATIO_CHECK_MIN_BYTES."""
RATIO_CHECK_MIN_BYTES: Final = 2**20
"""Entries smaller than this are never called bombs: tiny CSVs compress very well."""
MAX_LISTED_PROBLEMS: Final = 5

_DECODE_CHUNK: Final = 64
_NPY_CHUNK_BYTES: Final = 64 * 2**20
_IGNORED_TOP_LEVEL: Final = frozenset({"__MACOSX"})

# --- Messages ---------------------------------------------------------------------------------
# The summary of every error that collects problems:
PROBLEMS: Final = "{count} {noun} in {where}: {listed}"
MORE_PROBLEMS: Final = "; and {count} more"
PROBLEM_IN_FILE: Final = "{file} {problem}"
"""Prefix of each problem when one error spans several files (APPA-REAL's two CSVs)."""

# Labels files (one problem each; rows are 1-based data rows):
EMPTY_FILE: Final = "{file} is empty"
NO_DATA_ROWS: Final = "{file} has a header but no data rows"
NOT_UTF8: Final = "{file} is not UTF-8 text ({reason})"
BAD_CSV: Final = "{file} is not a readable CSV file ({reason})"
MISSING_COLUMN: Final = "missing required column {column!r} (found {found})"
DUPLICATE_COLUMN: Final = "column {column!r} appears more than once in the header"
WRONG_FIELD_COUNT: Final = "row {row}: {found} fields, but the header has {expected}"
EMPTY_ID: Final = "row {row}, column {column!r}: empty id"
DUPLICATE_ID: Final = "row {row}, column {column!r}: duplicate id {value!r} (first in row {first})"
NOT_A_NUMBER: Final = "row {row}, column {column!r}: {value!r} is not a number"
NOT_FINITE: Final = "row {row}, column {column!r}: {value!r} is not a finite number"
NEGATIVE_NUMBER: Final = "row {row}, column {column!r}: {value!r} is negative"
UNKNOWN_VALUE: Final = "row {row}, column {column!r}: unknown value {value!r} (expected {expected})"
APPA_UNMATCHED: Final = "row {row}, column {column!r}: {value!r} has no row in {other}"
COLUMN_LENGTH: Final = "column {column!r} has {found} values but 'id' has {expected}"

# Images (rows as above):
MISSING_IMAGE: Final = "row {row}, id {id!r}: no image file {path!r}"
UNSAFE_IMAGE_NAME: Final = "row {row}, id {id!r}: not a safe relative file name for an image"
UNDECODABLE_IMAGE: Final = "row {row}, id {id!r}: {path!r} cannot be decoded ({reason})"
UNRECOGNISED_IMAGE: Final = "not an image format Pillow can read"

# images.npy of the array layout:
NPY_UNREADABLE: Final = "images.npy is not a readable .npy file ({reason})"
NPY_BAD_DTYPE: Final = "images.npy has dtype {dtype}, expected uint8"
NPY_BAD_SHAPE: Final = "images.npy has shape {shape}, expected (N, H, W, 3)"
NPY_ROW_MISMATCH: Final = "images.npy has {n_images} images but {labels} has {n_labels} rows"
NPY_TRUNCATED: Final = (
    "images.npy holds {found} bytes of data, expected {expected} for shape {shape}"
)
NPY_FORTRAN_ORDER: Final = "images.npy is stored in Fortran order; save it in C order"

# Zips (one problem per entry; the summary names the zip):
ZIP_CORRUPT: Final = "{file} is not a readable zip file ({reason})"
ZIP_ENTRY_CORRUPT: Final = "{file}: entry {name!r} is corrupt ({reason})"
ZIP_UNSAFE_PATH: Final = "entry {name!r} has an absolute path or '..'"
ZIP_SYMLINK: Final = "entry {name!r} is a symbolic link"
ZIP_ENCRYPTED: Final = "entry {name!r} is encrypted"
ZIP_DUPLICATE_ENTRY: Final = "entry {name!r} appears more than once"
ZIP_BOMB_RATIO: Final = (
    "entry {name!r} expands {ratio:.0f} times ({size} bytes from {compressed}), "
    "over the limit of {limit}:1"
)
ZIP_TOO_LARGE: Final = "{total} bytes uncompressed in all, over the limit of {limit} bytes"

# Sources and destinations:
SOURCE_NOT_FOUND: Final = "{path} does not exist"
UNSUPPORTED_SOURCE: Final = "{path} is neither a folder, a .zip nor a .csv file"
UNREADABLE_FILE: Final = "{path} cannot be read ({reason})"
UNKNOWN_LAYOUT: Final = (
    "{source} holds no test set: expected labels.csv with images/ or images.npy, or "
    "gt_avg_test.csv with allcategories_test.csv, at the top level or inside one folder"
)
IMPORT_NEEDS_IMAGES: Final = (
    "{path} is a labels file; an import needs a folder or a .zip with the images"
)
DEST_EXISTS: Final = "{dest} already exists; an import never writes into an existing path"
BAD_IMAGE_SIZE: Final = "image_size must be two positive integers (height, width), got {value!r}"


class TestSetError(ScoringError):
    """A test set, or a file or zip it came in, is invalid.

    ``problems`` lists every problem found; the message counts them and lists the first few.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, message: str, problems: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems) if problems is not None else [message]


def _summary(problems: Sequence[str], where: str) -> str:
    listed = "; ".join(problems[:MAX_LISTED_PROBLEMS])
    if len(problems) > MAX_LISTED_PROBLEMS:
        listed += MORE_PROBLEMS.format(count=len(problems) - MAX_LISTED_PROBLEMS)
    noun = "problem" if len(problems) == 1 else "problems"
    return PROBLEMS.format(count=len(problems), noun=noun, where=where, listed=listed)


# A problem found while reading rows: (row, message); row 0 for problems of the whole file.
_Problem = tuple[int, str]


def _raise_problems(by_file: Mapping[str, Sequence[_Problem]]) -> None:
    """Raise one TestSetError for all problems, ordered by file then row; no-op when none."""
    files = [name for name, found in by_file.items() if found]
    if not files:
        return
    problems: list[str] = []
    for name in files:
        for _, message in sorted(by_file[name], key=lambda problem: problem[0]):
            problems.append(
                message if len(files) == 1 else PROBLEM_IN_FILE.format(file=name, problem=message)
            )
    raise TestSetError(_summary(problems, " and ".join(files)), problems)


def _expected(groups: Sequence[str]) -> str:
    return groups[0] if len(groups) == 1 else ", ".join(groups[:-1]) + " or " + groups[-1]


# --- The test set -----------------------------------------------------------------------------


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
            raise TestSetError(_summary(wrong, "the test set"), wrong)

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
        problems: list[_Problem] = []
        _parse_ids(ids, "id", problems, keys=[item if item.strip() else "" for item in ids])
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
        for attribute in CATEGORICAL_ATTRIBUTES:
            given = np.asarray(getattr(self, attribute.name), dtype=str)
            problems += [
                (
                    int(i) + 1,
                    UNKNOWN_VALUE.format(
                        row=int(i) + 1,
                        column=attribute.name,
                        value=str(given[i]),
                        expected=_expected(attribute.groups),
                    ),
                )
                for i in np.flatnonzero(codes[attribute.name] < 0)
            ]
        _raise_problems({"the test set": problems})

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
            raise KeyError(f"unknown attribute {attribute!r}; expected one of {known}")
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
        the same on every run and platform; ``real_age`` and extras are not part of it.

        Example:
            >>> ts = TestSet(ids=("a",), age=[3.0], gender=["male"], ethnicity=["asian"],
            ...              expression=["other"])
            >>> ts.fingerprint().startswith("sha256:"), len(ts.fingerprint())
            (True, 71)
        """
        canonical = {
            "format": "fairboard-testset-labels-v1",
            "id": list(self.ids),
            "age": [float(value) for value in self.age],
            **{a.name: getattr(self, a.name).tolist() for a in CATEGORICAL_ATTRIBUTES},
        }
        payload = json.dumps(canonical, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(payload.encode("ascii")).hexdigest()

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
                raise IndexError(
                    f"boolean index has shape {positions.shape}, expected ({len(self)},)"
                )
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


# --- Reading CSV labels -----------------------------------------------------------------------


@dataclass
class _Table:
    """A CSV file: lower-case header, stripped non-blank data rows, problems of its shape."""

    file: str
    header: list[str]
    rows: list[list[str]]
    problems: list[_Problem]

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
        raise TestSetError(BAD_CSV.format(file=file, reason=error)) from None
    header = [name.lower() for name in records[0]]
    rows = records[1:]
    if not rows:
        raise TestSetError(NO_DATA_ROWS.format(file=file))
    problems: list[_Problem] = [
        (0, DUPLICATE_COLUMN.format(column=name))
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
        (0, MISSING_COLUMN.format(column=name, found=", ".join(table.header) or "no columns"))
        for name in required
        if name not in table.header
    ]
    _raise_problems({table.file: table.problems + missing} if missing else {})


def _parse_ids(
    values: Sequence[str],
    column: str,
    problems: list[_Problem],
    *,
    keys: Sequence[str] | None = None,
) -> list[str]:
    """Check ids are non-empty and unique; ``keys`` (default: the values) are what must differ."""
    first_row: dict[str, int] = {}
    for row, (value, key) in enumerate(zip(values, keys or values, strict=True), start=1):
        if not key:
            problems.append((row, EMPTY_ID.format(row=row, column=column)))
        elif key in first_row:
            problems.append(
                (
                    row,
                    DUPLICATE_ID.format(row=row, column=column, value=value, first=first_row[key]),
                )
            )
        else:
            first_row[key] = row
    return list(values)


def _parse_numbers(
    values: Sequence[str], column: str, problems: list[_Problem], *, required: bool
) -> npt.NDArray[np.float64]:
    """Non-negative finite numbers; an empty cell is NaN when not ``required``."""
    numbers = np.full(len(values), np.nan)
    for row, value in enumerate(values, start=1):
        if not value and not required:
            continue
        try:
            number = float(value)
        except ValueError:
            problems.append((row, NOT_A_NUMBER.format(row=row, column=column, value=value)))
            continue
        if not np.isfinite(number):
            problems.append((row, NOT_FINITE.format(row=row, column=column, value=value)))
        elif number < 0:
            problems.append((row, NEGATIVE_NUMBER.format(row=row, column=column, value=value)))
        else:
            numbers[row - 1] = number
    return numbers


def _parse_category(
    values: Sequence[str], attribute: Attribute, column: str, problems: list[_Problem]
) -> list[str]:
    normalised = [value.lower() for value in values]
    allowed = set(attribute.groups)
    for row, (value, lower) in enumerate(zip(values, normalised, strict=True), start=1):
        if lower not in allowed:
            problems.append(
                (
                    row,
                    UNKNOWN_VALUE.format(
                        row=row, column=column, value=value, expected=_expected(attribute.groups)
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


def _generic_labels(data: bytes, file: str) -> TestSet:
    table = _read_table(data, file)
    _require_columns(table, LABEL_COLUMNS)
    problems = list(table.problems)
    ids = _parse_ids(table.column("id"), "id", problems)
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
    _raise_problems({file: problems})
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


def _appa_labels(
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

    ids = _parse_ids(gt.column("file_name"), "file_name", gt_problems)
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
    _parse_ids(files, "file", category_problems, keys=keys)
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
                        row=row, column="file_name", value=file_name, other=categories_file
                    ),
                )
            )
    for row, (key, file_value) in enumerate(zip(keys, files, strict=True), start=1):
        if key and key not in id_set:
            category_problems.append(
                (
                    row,
                    APPA_UNMATCHED.format(row=row, column="file", value=file_value, other=gt_file),
                )
            )
    _raise_problems({gt_file: gt_problems, categories_file: category_problems})

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


# --- Sources: a folder or a zip ---------------------------------------------------------------


class _Source(ABC):
    """Files of one layout, addressed by POSIX paths relative to the layout's root."""

    def __init__(self, display: str) -> None:
        self.display = display

    @abstractmethod
    def has(self, relative: str) -> bool: ...

    @abstractmethod
    def size(self, relative: str) -> int: ...

    @abstractmethod
    def open(self, relative: str) -> IO[bytes]: ...

    def read(self, relative: str) -> bytes:
        with self.open(relative) as stream:
            return _read_exact(stream, -1, self, relative)


class _FolderSource(_Source):
    def __init__(self, root: Path, display: str) -> None:
        super().__init__(display)
        self.root = root

    def has(self, relative: str) -> bool:
        return (self.root / relative).is_file()

    def size(self, relative: str) -> int:
        return (self.root / relative).stat().st_size

    def open(self, relative: str) -> IO[bytes]:
        path = self.root / relative
        try:
            return open(path, "rb")
        except OSError as error:
            raise TestSetError(
                UNREADABLE_FILE.format(path=path, reason=error.strerror or error)
            ) from None


class _ZipSource(_Source):
    def __init__(self, archive: zipfile.ZipFile, display: str, prefix: str) -> None:
        super().__init__(display)
        self.archive = archive
        self.members = {
            info.filename[len(prefix) :]: info
            for info in archive.infolist()
            if info.filename.startswith(prefix) and not info.is_dir()
        }

    def has(self, relative: str) -> bool:
        return relative in self.members

    def size(self, relative: str) -> int:
        return self.members[relative].file_size

    def open(self, relative: str) -> IO[bytes]:
        info = self.members[relative]
        try:
            return self.archive.open(info)
        except (*_READ_ERRORS, RuntimeError) as error:
            raise _unreadable(self, relative, error) from None


# What reading a zip member or a file can raise when the data is corrupt or truncated.
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError)


def _unreadable(source: _Source, relative: str, error: BaseException) -> TestSetError:
    if isinstance(source, _ZipSource):
        name = source.members[relative].filename
        return TestSetError(ZIP_ENTRY_CORRUPT.format(file=source.display, name=name, reason=error))
    return TestSetError(UNREADABLE_FILE.format(path=relative, reason=error))


def _read_exact(stream: IO[bytes], size: int, source: _Source, relative: str) -> bytes:
    """Read ``size`` bytes (all when -1), turning zip corruption into a TestSetError."""
    try:
        return stream.read(size)
    except _READ_ERRORS as error:
        raise _unreadable(source, relative, error) from None


def _layout_of(has: Callable[[str], bool]) -> str | None:
    if has(APPA_GT_FILE) and has(APPA_CATEGORIES_FILE):
        return LAYOUT_APPA_REAL
    if has(LABELS_FILE) and has(IMAGES_NPY):
        return LAYOUT_ARRAY
    if has(LABELS_FILE):
        return LAYOUT_GENERIC
    return None


def _single_folder(files: Sequence[str], folders: Sequence[str]) -> str | None:
    """The one top-level folder a layout may sit in, ignoring macOS and hidden clutter."""
    folders = [name for name in folders if name not in _IGNORED_TOP_LEVEL]
    if len(folders) == 1 and all(name.startswith(".") for name in files):
        return folders[0]
    return None


def _unsafe_member_name(name: str) -> bool:
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return True
    return ".." in re.split(r"[/\\]", name)


def _check_zip(archive: zipfile.ZipFile, display: str, max_total_bytes: int) -> None:
    problems: list[_Problem] = []
    total = 0
    seen: set[str] = set()
    for info in archive.infolist():
        name = info.filename
        if _unsafe_member_name(name):
            problems.append((0, ZIP_UNSAFE_PATH.format(name=name)))
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append((0, ZIP_SYMLINK.format(name=name)))
        if info.flag_bits & 0x1:
            problems.append((0, ZIP_ENCRYPTED.format(name=name)))
        if name in seen:
            problems.append((0, ZIP_DUPLICATE_ENTRY.format(name=name)))
        seen.add(name)
        total += info.file_size
        compressed = max(info.compress_size, 1)
        if (
            info.file_size >= RATIO_CHECK_MIN_BYTES
            and info.file_size > MAX_COMPRESSION_RATIO * compressed
        ):
            problems.append(
                (
                    0,
                    ZIP_BOMB_RATIO.format(
                        name=name,
                        ratio=info.file_size / compressed,
                        size=info.file_size,
                        compressed=info.compress_size,
                        limit=MAX_COMPRESSION_RATIO,
                    ),
                )
            )
    if total > max_total_bytes:
        problems.append((0, ZIP_TOO_LARGE.format(total=total, limit=max_total_bytes)))
    _raise_problems({display: problems})


@contextmanager
def _open_source(path: Path, max_total_bytes: int) -> Iterator[tuple[_Source, str]]:
    """The layout found in a folder or zip, as (source at the layout root, layout name)."""
    if path.is_dir():
        root = path
        layout = _layout_of(lambda name: (root / name).is_file())
        if layout is None:
            entries = sorted(os.listdir(root))
            folder = _single_folder(
                [name for name in entries if not (root / name).is_dir()],
                [name for name in entries if (root / name).is_dir()],
            )
            if folder is not None:
                root = path / folder
                layout = _layout_of(lambda name: (root / name).is_file())
        if layout is None:
            raise TestSetError(UNKNOWN_LAYOUT.format(source=path.name))
        yield _FolderSource(root, path.name), layout
        return
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as error:
        raise TestSetError(ZIP_CORRUPT.format(file=path.name, reason=error)) from None
    with archive:
        _check_zip(archive, path.name, max_total_bytes)
        names = {info.filename for info in archive.infolist() if not info.is_dir()}
        prefix = ""
        layout = _layout_of(names.__contains__)
        if layout is None:
            folder = _single_folder(
                [name for name in names if "/" not in name],
                sorted({name.split("/", 1)[0] for name in names if "/" in name}),
            )
            if folder is not None:
                prefix = folder + "/"
                layout = _layout_of(lambda name: prefix + name in names)
        if layout is None:
            raise TestSetError(UNKNOWN_LAYOUT.format(source=path.name))
        yield _ZipSource(archive, path.name, prefix), layout


def _labels_from(source: _Source, layout: str) -> TestSet:
    if layout == LAYOUT_APPA_REAL:
        return _appa_labels(source.read(APPA_GT_FILE), source.read(APPA_CATEGORIES_FILE))
    return _generic_labels(source.read(LABELS_FILE), LABELS_FILE)


def _kind_of(path: Path) -> str:
    """ "folder", "zip" or "csv"; raises for anything else."""
    if not path.exists():
        raise TestSetError(SOURCE_NOT_FOUND.format(path=path))
    if path.is_dir():
        return "folder"
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        return "zip"
    if path.suffix.lower() == ".csv":
        return "csv"
    raise TestSetError(UNSUPPORTED_SOURCE.format(path=path))


def read_labels(path: Path, *, max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES) -> TestSet:
    """Read and validate the labels of a test set; images are neither read nor checked.

    ``path`` is a generic or array-layout ``labels.csv`` (any name), an APPA-REAL
    ``gt_avg_<split>.csv`` or ``allcategories_<split>.csv`` (read with its sibling, so students
    can read the validation split too), or a folder or ``.zip`` in any layout of SPEC §2.
    Category values are matched case-insensitively and stored lower-case; columns beyond the
    schema are kept as ``extras``. Every problem is collected before raising
    :class:`TestSetError`.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     labels = Path(folder) / "labels.csv"
        ...     _ = labels.write_text("id,age,gender,ethnicity,expression\\n"
        ...                           "a.jpg,31.5,Male,caucasian,happy\\n")
        ...     ts = read_labels(labels)
        >>> ts.ids, ts.age.tolist(), ts.gender.tolist()
        (('a.jpg',), [31.5], ['male'])
    """
    path = Path(path)
    kind = _kind_of(path)
    if kind == "csv":
        appa = _APPA_CSV_NAME.match(path.name)
        if appa is None:
            return _generic_labels(_read_file(path), path.name)
        gt = path.with_name(f"gt_avg_{appa['split']}.csv")
        categories = path.with_name(f"allcategories_{appa['split']}.csv")
        return _appa_labels(
            _read_file(gt), _read_file(categories), gt_file=gt.name, categories_file=categories.name
        )
    with _open_source(path, max_total_bytes) as (source, layout):
        return _labels_from(source, layout)


_APPA_CSV_NAME: Final = re.compile(r"^(?:gt_avg|allcategories)_(?P<split>[^.]+)\.csv$")


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise TestSetError(
            UNREADABLE_FILE.format(path=path, reason=error.strerror or error)
        ) from None


# --- Import -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    """What an import stored: layout, size, fingerprint, group sizes and image sizes.

    Example:
        >>> report = ImportReport(layout="generic", n_items=1, fingerprint="sha256:00",
        ...                       group_sizes={}, image_size=(224, 224),
        ...                       source_image_sizes={"640x480": 1})
        >>> report.to_dict()["image_size"]
        [224, 224]
    """

    layout: str
    n_items: int
    fingerprint: str
    group_sizes: dict[str, dict[str, int]]
    image_size: tuple[int, int]
    source_image_sizes: dict[str, int]
    synthetic: bool = False
    """True when the source carried the synthetic marker (SYNTHETIC.txt)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (``image_size`` as ``[H, W]``); :meth:`from_dict` reverses it.

        Example:
            >>> ImportReport("array", 0, "sha256:00", {}, (8, 8), {}).to_dict()["layout"]
            'array'
        """
        return {
            "layout": self.layout,
            "n_items": self.n_items,
            "fingerprint": self.fingerprint,
            "group_sizes": {name: dict(sizes) for name, sizes in self.group_sizes.items()},
            "image_size": [self.image_size[0], self.image_size[1]],
            "source_image_sizes": dict(self.source_image_sizes),
            "synthetic": self.synthetic,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImportReport:
        """The report :meth:`to_dict` (or ``report.json``) describes.

        Example:
            >>> report = ImportReport("array", 0, "sha256:00", {}, (8, 8), {})
            >>> ImportReport.from_dict(report.to_dict()) == report
            True
        """
        height, width = data["image_size"]
        return cls(
            layout=str(data["layout"]),
            n_items=int(data["n_items"]),
            fingerprint=str(data["fingerprint"]),
            group_sizes={
                name: {g: int(n) for g, n in sizes.items()}
                for name, sizes in data["group_sizes"].items()
            },
            image_size=(int(height), int(width)),
            source_image_sizes={k: int(v) for k, v in data["source_image_sizes"].items()},
            synthetic=bool(data.get("synthetic", False)),
        )


def _check_image_size(image_size: Any) -> tuple[int, int]:
    try:
        height, width = image_size
        valid = all(
            isinstance(side, int | np.integer) and not isinstance(side, bool) and side > 0
            for side in (height, width)
        )
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise TestSetError(BAD_IMAGE_SIZE.format(value=image_size))
    return int(height), int(width)


def _safe_image_name(identifier: str) -> bool:
    return bool(identifier) and not _unsafe_member_name(identifier) and "\x00" not in identifier


def _image_paths(source: _Source, testset: TestSet, layout: str) -> tuple[str, list[str]]:
    """(image folder, image of every item relative to the layout root); raises for unsafe or
    missing images, listing them all."""
    if layout == LAYOUT_APPA_REAL:
        folder = APPA_IMAGES_DIR
        faces = [f"{folder}/{item}{APPA_FACE_SUFFIX}" for item in testset.ids]
        # Face crops for all items or for none: a set must not mix crops and full photos.
        if all(_safe_image_name(item) for item in testset.ids) and all(map(source.has, faces)):
            return folder, faces
    else:
        folder = IMAGES_DIR
    paths = [f"{folder}/{item}" for item in testset.ids]
    problems: list[_Problem] = []
    for row, (item, path) in enumerate(zip(testset.ids, paths, strict=True), start=1):
        if not _safe_image_name(item):
            problems.append((row, UNSAFE_IMAGE_NAME.format(row=row, id=item)))
        elif not source.has(path):
            problems.append((row, MISSING_IMAGE.format(row=row, id=item, path=path)))
    _raise_problems({f"{folder}/": problems})
    return folder, paths


def _decode(data: bytes, size: tuple[int, int]) -> tuple[np.ndarray, str] | str:
    """(H×W×3 uint8 RGB resized to ``size``, source "WxH") or the reason it cannot be decoded.

    No EXIF rotation: images go in as stored, like Keras' ``load_img`` that trained the models.
    """
    height, width = size
    try:
        with Image.open(io.BytesIO(data)) as image:
            source_size = "{}x{}".format(*image.size)
            if image.format == "JPEG":
                # DCT-domain downscaling: much faster for large photos, still >= 2x the target.
                image.draft("RGB", (2 * width, 2 * height))
            rgb = image.convert("RGB")
        if rgb.size != (width, height):
            rgb = rgb.resize((width, height), Image.Resampling.BILINEAR)
        return np.asarray(rgb, dtype=np.uint8), source_size
    except UnidentifiedImageError:
        return UNRECOGNISED_IMAGE
    # Untrusted bytes can fail deep inside any decoder in any way; each is "undecodable".
    except Exception as error:
        return f"{type(error).__name__}: {error}"


def _import_images(
    source: _Source,
    folder: str,
    paths: Sequence[str],
    testset: TestSet,
    out: np.memmap[Any, Any],
    size: tuple[int, int],
    progress: Callable[[int, int], None] | None,
) -> Counter[str]:
    n = len(paths)
    source_sizes: Counter[str] = Counter()
    problems: list[_Problem] = []
    # Pillow decodes and resizes without the GIL; a few threads, as each may hold a big photo.
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, n, _DECODE_CHUNK):
            stop = min(n, start + _DECODE_CHUNK)
            blobs = [source.read(paths[index]) for index in range(start, stop)]
            decoded = pool.map(lambda blob: _decode(blob, size), blobs)
            for index, result in zip(range(start, stop), decoded, strict=True):
                if isinstance(result, str):
                    row = index + 1
                    problems.append(
                        (
                            row,
                            UNDECODABLE_IMAGE.format(
                                row=row, id=testset.ids[index], path=paths[index], reason=result
                            ),
                        )
                    )
                else:
                    out[index] = result[0]
                    source_sizes[result[1]] += 1
            if progress is not None:
                progress(stop, n)
    _raise_problems({f"{folder}/": problems})
    return source_sizes


def _read_npy_header(
    stream: IO[bytes], source: _Source
) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(stream)
        reason = f"unsupported .npy format version {version[0]}.{version[1]}"
    except _READ_ERRORS as error:
        raise _unreadable(source, IMAGES_NPY, error) from None
    except (ValueError, SyntaxError) as error:
        reason = str(error)
    raise TestSetError(NPY_UNREADABLE.format(reason=reason))


def _import_array(
    source: _Source,
    testset: TestSet,
    out_path: Path,
    size: tuple[int, int],
    progress: Callable[[int, int], None] | None,
) -> tuple[np.memmap[Any, Any], Counter[str]]:
    """Stream images.npy row by row into a new memory map at ``out_path`` (resized if needed)."""
    with source.open(IMAGES_NPY) as stream:
        shape, fortran_order, dtype = _read_npy_header(stream, source)
        if dtype != np.dtype(np.uint8):
            raise TestSetError(NPY_BAD_DTYPE.format(dtype=dtype))
        if len(shape) != 4 or shape[3] != 3 or shape[1] < 1 or shape[2] < 1:
            raise TestSetError(NPY_BAD_SHAPE.format(shape=shape))
        if shape[0] != len(testset):
            raise TestSetError(
                NPY_ROW_MISMATCH.format(
                    n_images=shape[0], labels=LABELS_FILE, n_labels=len(testset)
                )
            )
        if fortran_order:
            raise TestSetError(NPY_FORTRAN_ORDER)
        n, height, width, _ = shape
        expected = n * height * width * 3
        found = source.size(IMAGES_NPY) - stream.tell()
        if found != expected:
            raise TestSetError(NPY_TRUNCATED.format(found=found, expected=expected, shape=shape))

        out = np.lib.format.open_memmap(
            out_path, mode="w+", dtype=np.uint8, shape=(n, size[0], size[1], 3)
        )
        row_bytes = height * width * 3
        chunk = max(1, _NPY_CHUNK_BYTES // row_bytes)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            data = _read_exact(stream, (stop - start) * row_bytes, source, IMAGES_NPY)
            if len(data) != (stop - start) * row_bytes:
                raise TestSetError(
                    NPY_TRUNCATED.format(
                        found=start * row_bytes + len(data), expected=expected, shape=shape
                    )
                )
            rows = np.frombuffer(data, dtype=np.uint8).reshape(stop - start, height, width, 3)
            if (height, width) == size:
                out[start:stop] = rows
            else:
                for offset, image in enumerate(rows):
                    resized = Image.fromarray(image, "RGB").resize(
                        (size[1], size[0]), Image.Resampling.BILINEAR
                    )
                    out[start + offset] = np.asarray(resized, dtype=np.uint8)
            if progress is not None:
                progress(stop, n)
    return out, Counter({f"{width}x{height}": n})


def import_testset(
    source: Path,
    dest: Path,
    *,
    image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Validate a test set completely, then store it in the new folder ``dest``.

    ``source`` is a folder or ``.zip`` in any layout of SPEC §2 (detected; at the top level or
    inside one folder). Checked first: zip safety (unsafe names, symlinks, encryption, the
    uncompressed total against ``max_total_bytes``, per-entry compression ratio), the labels,
    and that every image exists. Every image is then decoded with Pillow, converted to RGB
    and resized (bilinear, antialiased) to ``image_size`` = (height, width); an array-layout
    ``images.npy`` is streamed and resized only if its size differs. Written into a temporary
    sibling folder and renamed to ``dest`` at the end, so a failure leaves nothing behind:

    - ``dest/labels.csv``: generic labels, canonical order (see :meth:`TestSet.to_labels_csv`);
    - ``dest/images.npy``: uint8 N×H×W×3 RGB, readable with ``np.load(mmap_mode="r")``;
    - ``dest/report.json``: the returned :class:`ImportReport`;
    - ``dest/SYNTHETIC.txt``: copied when the source is marked synthetic.

    ``progress(done, total)`` is called as images are stored. ``dest`` must not exist; its
    parent is created when missing.

    Example:
        >>> import tempfile
        >>> from scoring.synthetic import make_testset
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     source = make_testset(Path(folder) / "src", n=6, image_size=(16, 16))
        ...     report = import_testset(source, Path(folder) / "ts", image_size=(8, 8))
        ...     images = np.load(Path(folder) / "ts" / "images.npy", mmap_mode="r")
        ...     print(report.layout, report.n_items, images.shape, report.synthetic)
        generic 6 (6, 8, 8, 3) True
    """
    size = _check_image_size(image_size)
    source, dest = Path(source), Path(dest)
    if dest.exists() or dest.is_symlink():
        raise TestSetError(DEST_EXISTS.format(dest=dest))
    kind = _kind_of(source)
    if kind == "csv":
        raise TestSetError(IMPORT_NEEDS_IMAGES.format(path=source))
    with _open_source(source, max_total_bytes) as (files, layout):
        testset = _labels_from(files, layout)
        images_at = None if layout == LAYOUT_ARRAY else _image_paths(files, testset, layout)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.importing-", dir=dest.parent))
        try:
            if images_at is None:
                images, source_sizes = _import_array(
                    files, testset, staging / IMAGES_NPY, size, progress
                )
            else:
                images = np.lib.format.open_memmap(
                    staging / IMAGES_NPY,
                    mode="w+",
                    dtype=np.uint8,
                    shape=(len(testset), size[0], size[1], 3),
                )
                source_sizes = _import_images(files, *images_at, testset, images, size, progress)
            images.flush()
            del images  # close the memory map before the rename
            synthetic = files.has(SYNTHETIC_MARKER)
            if synthetic:
                (staging / SYNTHETIC_MARKER).write_bytes(files.read(SYNTHETIC_MARKER))
            testset.to_labels_csv(staging / LABELS_FILE)
            report = ImportReport(
                layout=layout,
                n_items=len(testset),
                fingerprint=testset.fingerprint(),
                group_sizes=testset.group_sizes(),
                image_size=size,
                source_image_sizes=dict(sorted(source_sizes.items())),
                synthetic=synthetic,
            )
            (staging / REPORT_FILE).write_text(
                json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8"
            )
            if dest.exists() or dest.is_symlink():
                raise TestSetError(DEST_EXISTS.format(dest=dest))
            os.rename(staging, dest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return report
