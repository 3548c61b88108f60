"""The names, limits and messages of test sets, and the error that carries them.

Row numbers in messages are 1-based data rows (see :mod:`scoring.testset`). Values quoted from
a labels file are short excerpts (:func:`scoring.errors.excerpt`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from scoring import archives
from scoring.errors import ScoringError, excerpt, summarise

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
MAX_ZIP_ENTRIES: Final = 200_000
"""Most entries a test-set zip may hold (images, labels and clutter)."""

IGNORED_TOP_LEVEL: Final = frozenset({"__MACOSX"})

# --- Messages ---------------------------------------------------------------------------------
# The summary of every error that collects problems is scoring.errors.PROBLEMS.
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
TOO_LARGE: Final = "row {row}, column {column!r}: {value!r} is over 10,000 years"
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

# Zips: the one set of rules of scoring.archives, under the names this module always had.
ZIP_CORRUPT: Final = archives.ARCHIVE_CORRUPT
ZIP_ENTRY_CORRUPT: Final = archives.ENTRY_CORRUPT
ZIP_UNSAFE_PATH: Final = archives.UNSAFE_PATH
ZIP_SYMLINK: Final = archives.SYMLINK_ENTRY
ZIP_ENCRYPTED: Final = archives.ENTRY_ENCRYPTED
ZIP_DUPLICATE_ENTRY: Final = archives.DUPLICATE_ENTRY
ZIP_BOMB_RATIO: Final = archives.RATIO_TOO_HIGH
ZIP_TOO_LARGE: Final = archives.TOO_LARGE

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


# A problem found while reading rows: (row, message); row 0 for problems of the whole file.
Problem = tuple[int, str]


def raise_problems(by_file: Mapping[str, Sequence[Problem]]) -> None:
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
    raise TestSetError(summarise(problems, " and ".join(files)), problems)


def expected_values(groups: Sequence[str]) -> str:
    """The allowed values of a category, as a message lists them: ``a, b or c``."""
    return groups[0] if len(groups) == 1 else ", ".join(groups[:-1]) + " or " + groups[-1]


def from_archive(error: archives.ArchiveError) -> TestSetError:
    """The :class:`TestSetError` for a zip that breaks the rules of :mod:`scoring.archives`."""
    return TestSetError(str(error), error.problems)


def check_ids(
    values: Sequence[str],
    column: str,
    problems: list[Problem],
    *,
    keys: Sequence[str] | None = None,
) -> list[str]:
    """Check ids are non-empty and unique; ``keys`` (default: the values) are what must differ."""
    first_row: dict[str, int] = {}
    for row, (value, key) in enumerate(zip(values, keys or values, strict=True), start=1):
        if not key:
            problems.append((row, EMPTY_ID.format(row=row, column=column)))
        elif key in first_row:
            duplicate = DUPLICATE_ID.format(
                row=row, column=column, value=excerpt(value), first=first_row[key]
            )
            problems.append((row, duplicate))
        else:
            first_row[key] = row
    return list(values)
