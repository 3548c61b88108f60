"""The shape of ``scoring``: no import cycle, no module over 500 lines, no block copied verbatim,
and every docstring example runs (helpers in ``tests/support/shape.py``)."""

from __future__ import annotations

import doctest
import importlib

import pytest

from tests.support.shape import (
    copied_blocks,
    find_cycle,
    import_graph,
    long_modules,
    modules,
    sources_of,
)

MODULES = modules("scoring")
# Examples that need onnxruntime or spawn processes: tests/scoring/inference runs those.
DOCTEST_SKIPPED = ("scoring.__main__", "scoring.inference.")


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_absolute_relative_and_module_imports() -> None:
    graph = import_graph(MODULES)
    assert "scoring.archives" in graph["scoring.predictions"]
    assert "scoring.testset.messages" in graph["scoring.testset.model"]
    assert "scoring.errors" in graph["scoring.metrics"]


def test_scoring_has_no_import_cycle() -> None:
    assert find_cycle(import_graph(MODULES)) is None


def test_no_module_exceeds_500_lines() -> None:
    assert long_modules(MODULES) == []


def test_the_copy_finder_sees_six_repeated_lines_and_ignores_punctuation() -> None:
    block = "".join(f"x{i} = {i}\n" for i in range(6))
    assert copied_blocks({"a": block, "b": "y = 1\n" + block}) == [("a:1", "b:2")]
    assert copied_blocks({"a": block[:-7], "b": block[:-7]}) == []
    assert copied_blocks({"a": ")\n]\n" * 6, "b": ")\n]\n" * 6}) == []
    imports = "".join(f"import m{i}\n" for i in range(6))
    assert copied_blocks({"a": imports, "b": imports}) == []


def test_no_block_of_six_lines_is_repeated_in_scoring() -> None:
    assert copied_blocks(sources_of(MODULES)) == []


@pytest.mark.parametrize(
    "name", [name for name in sorted(MODULES) if not name.startswith(DOCTEST_SKIPPED)]
)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
