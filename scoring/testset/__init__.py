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

The package is split along these concerns: :mod:`.messages` (names, limits, messages, the
error), :mod:`.model` (:class:`TestSet`), :mod:`.labels` (CSV files), :mod:`.sources` (folders
and zips, checked by :mod:`scoring.archives`) and :mod:`.importer`. Every name below is
importable from ``scoring.testset`` as before the split.

Every bad input raises :class:`TestSetError`; its ``problems`` list holds every problem found
and its message counts them and lists the first few. The message templates are the module
constants below, asserted word for word by the tests.
"""

from scoring.errors import MAX_LISTED_PROBLEMS, MORE_PROBLEMS, PROBLEMS
from scoring.testset.importer import ImportReport, import_testset
from scoring.testset.messages import (
    APPA_CATEGORIES_FILE,
    APPA_CATEGORY_COLUMNS,
    APPA_FACE_SUFFIX,
    APPA_GT_COLUMNS,
    APPA_GT_FILE,
    APPA_IMAGES_DIR,
    APPA_UNMATCHED,
    BAD_CSV,
    BAD_IMAGE_SIZE,
    COLUMN_LENGTH,
    DEFAULT_IMAGE_SIZE,
    DEFAULT_MAX_TOTAL_BYTES,
    DEST_EXISTS,
    DUPLICATE_COLUMN,
    DUPLICATE_ID,
    EMPTY_FILE,
    EMPTY_ID,
    IMAGES_DIR,
    IMAGES_NPY,
    IMPORT_NEEDS_IMAGES,
    LABEL_COLUMNS,
    LABELS_FILE,
    LAYOUT_APPA_REAL,
    LAYOUT_ARRAY,
    LAYOUT_GENERIC,
    MAX_COMPRESSION_RATIO,
    MAX_ZIP_ENTRIES,
    MISSING_COLUMN,
    MISSING_IMAGE,
    NEGATIVE_NUMBER,
    NO_DATA_ROWS,
    NOT_A_NUMBER,
    NOT_FINITE,
    NOT_UTF8,
    NPY_BAD_DTYPE,
    NPY_BAD_SHAPE,
    NPY_FORTRAN_ORDER,
    NPY_ROW_MISMATCH,
    NPY_TRUNCATED,
    NPY_UNREADABLE,
    PROBLEM_IN_FILE,
    RATIO_CHECK_MIN_BYTES,
    REAL_AGE_COLUMN,
    REPORT_FILE,
    SOURCE_NOT_FOUND,
    SYNTHETIC_MARKER,
    TOO_LARGE,
    UNDECODABLE_IMAGE,
    UNKNOWN_LAYOUT,
    UNKNOWN_VALUE,
    UNREADABLE_FILE,
    UNRECOGNISED_IMAGE,
    UNSAFE_IMAGE_NAME,
    UNSUPPORTED_SOURCE,
    WRONG_FIELD_COUNT,
    ZIP_BOMB_RATIO,
    ZIP_CORRUPT,
    ZIP_DUPLICATE_ENTRY,
    ZIP_ENCRYPTED,
    ZIP_ENTRY_CORRUPT,
    ZIP_SYMLINK,
    ZIP_TOO_LARGE,
    ZIP_UNSAFE_PATH,
    TestSetError,
)
from scoring.testset.model import TestSet
from scoring.testset.sources import read_labels

__all__ = [
    "APPA_CATEGORIES_FILE",
    "APPA_CATEGORY_COLUMNS",
    "APPA_FACE_SUFFIX",
    "APPA_GT_COLUMNS",
    "APPA_GT_FILE",
    "APPA_IMAGES_DIR",
    "APPA_UNMATCHED",
    "BAD_CSV",
    "BAD_IMAGE_SIZE",
    "COLUMN_LENGTH",
    "DEFAULT_IMAGE_SIZE",
    "DEFAULT_MAX_TOTAL_BYTES",
    "DEST_EXISTS",
    "DUPLICATE_COLUMN",
    "DUPLICATE_ID",
    "EMPTY_FILE",
    "EMPTY_ID",
    "IMAGES_DIR",
    "IMAGES_NPY",
    "IMPORT_NEEDS_IMAGES",
    "LABELS_FILE",
    "LABEL_COLUMNS",
    "LAYOUT_APPA_REAL",
    "LAYOUT_ARRAY",
    "LAYOUT_GENERIC",
    "MAX_COMPRESSION_RATIO",
    "MAX_LISTED_PROBLEMS",
    "MAX_ZIP_ENTRIES",
    "MISSING_COLUMN",
    "MISSING_IMAGE",
    "MORE_PROBLEMS",
    "NEGATIVE_NUMBER",
    "NOT_A_NUMBER",
    "NOT_FINITE",
    "NOT_UTF8",
    "NO_DATA_ROWS",
    "NPY_BAD_DTYPE",
    "NPY_BAD_SHAPE",
    "NPY_FORTRAN_ORDER",
    "NPY_ROW_MISMATCH",
    "NPY_TRUNCATED",
    "NPY_UNREADABLE",
    "PROBLEMS",
    "PROBLEM_IN_FILE",
    "RATIO_CHECK_MIN_BYTES",
    "REAL_AGE_COLUMN",
    "REPORT_FILE",
    "SOURCE_NOT_FOUND",
    "SYNTHETIC_MARKER",
    "TOO_LARGE",
    "UNDECODABLE_IMAGE",
    "UNKNOWN_LAYOUT",
    "UNKNOWN_VALUE",
    "UNREADABLE_FILE",
    "UNRECOGNISED_IMAGE",
    "UNSAFE_IMAGE_NAME",
    "UNSUPPORTED_SOURCE",
    "WRONG_FIELD_COUNT",
    "ZIP_BOMB_RATIO",
    "ZIP_CORRUPT",
    "ZIP_DUPLICATE_ENTRY",
    "ZIP_ENCRYPTED",
    "ZIP_ENTRY_CORRUPT",
    "ZIP_SYMLINK",
    "ZIP_TOO_LARGE",
    "ZIP_UNSAFE_PATH",
    "ImportReport",
    "TestSet",
    "TestSetError",
    "import_testset",
    "read_labels",
]
