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
and zips, checked by :mod:`scoring.archives`) and :mod:`.importer`. Every name of
:mod:`.messages` (layouts, file names, limits, message constants) is importable from
``scoring.testset`` as before the split.

Every bad input raises :class:`TestSetError`; its ``problems`` list holds every problem found
and its message counts them and lists the first few. The message templates are the module
constants of :mod:`.messages`, asserted word for word by the tests.
"""

from scoring.errors import MAX_LISTED_PROBLEMS as MAX_LISTED_PROBLEMS
from scoring.errors import MORE_PROBLEMS as MORE_PROBLEMS
from scoring.errors import PROBLEMS as PROBLEMS
from scoring.testset.importer import ImportReport, import_testset
from scoring.testset.messages import *  # noqa: F403  (names, limits and messages, as before)
from scoring.testset.messages import DEFAULT_MAX_TOTAL_BYTES, TestSetError
from scoring.testset.model import TestSet
from scoring.testset.sources import read_labels

__all__ = [
    "DEFAULT_MAX_TOTAL_BYTES",
    "ImportReport",
    "TestSet",
    "TestSetError",
    "import_testset",
    "read_labels",
]
