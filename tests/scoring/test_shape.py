"""Every docstring example of ``scoring`` runs (its cycles, lengths, copies and layering:
``tests/test_shape.py``)."""

from __future__ import annotations

import doctest
import importlib

import pytest

from tests.support.shape import modules

# Examples that need onnxruntime or spawn processes: tests/scoring/inference runs those.
DOCTEST_SKIPPED = ("scoring.__main__", "scoring.inference.")


@pytest.mark.parametrize(
    "name", [name for name in sorted(modules("scoring")) if not name.startswith(DOCTEST_SKIPPED)]
)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
