"""The shape of ``scoring``: no import cycle, no module over 500 lines, no block copied verbatim,
and every docstring example runs.

The import graph is built statically with ``ast`` (every import statement, lazy ones inside
functions included), so a cycle fails here before it fails at import time in some order.
"""

from __future__ import annotations

import ast
import doctest
import importlib
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCORING = REPO / "scoring"
MAX_MODULE_LINES = 500
MIN_COPIED_LINES = 6
# Examples that need onnxruntime or spawn processes: tests/scoring/inference runs those.
DOCTEST_SKIPPED = ("scoring.__main__", "scoring.inference.")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(SCORING.rglob("*.py"))}


def resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module an ``from ... import`` statement names (relative ones resolved)."""
    if node.level == 0:
        return node.module or ""
    package = importer.split(".")
    if MODULES[importer].name != "__init__.py":
        package.pop()
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str) -> set[str]:
    """The ``scoring`` modules a module imports (``from pkg import module`` counts the module)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = resolve(name, node)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {target for target in found if target in MODULES and target != name}


def import_graph() -> dict[str, set[str]]:
    return {name: imports_of(name) for name in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path that ends where it starts, or None."""
    state: dict[str, int] = defaultdict(int)  # 0 new, 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state[target] == 1:
                return [*stack[stack.index(target) :], target]
            if state[target] == 0 and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if state[start] == 0 and (cycle := visit(start)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_absolute_relative_and_module_imports() -> None:
    graph = import_graph()
    assert "scoring.archives" in graph["scoring.predictions"]
    assert "scoring.testset.messages" in graph["scoring.testset.model"]
    assert "scoring.errors" in graph["scoring.metrics"]


def test_scoring_has_no_import_cycle() -> None:
    assert find_cycle(import_graph()) is None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_exceeds_500_lines(name: str) -> None:
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines"


def copied_blocks(sources: dict[str, str]) -> list[tuple[str, str]]:
    """Pairs of places sharing ``MIN_COPIED_LINES`` identical consecutive code lines.

    Blank lines, comments and lines of punctuation alone are skipped: they repeat by nature.
    """
    seen: dict[tuple[str, ...], str] = {}
    copies: list[tuple[str, str]] = []
    for name, text in sources.items():
        code = [
            (number, line.strip())
            for number, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.strip().startswith("#") and any(c.isalnum() for c in line)
        ]
        for start in range(len(code) - MIN_COPIED_LINES + 1):
            window = tuple(line for _, line in code[start : start + MIN_COPIED_LINES])
            place = f"{name}:{code[start][0]}"
            first = seen.setdefault(window, place)
            if first != place:
                copies.append((first, place))
    return copies


def test_the_copy_finder_sees_six_repeated_lines_and_ignores_punctuation() -> None:
    block = "".join(f"x{i} = {i}\n" for i in range(6))
    assert copied_blocks({"a": block, "b": "y = 1\n" + block}) == [("a:1", "b:2")]
    assert copied_blocks({"a": block[:-7], "b": block[:-7]}) == []
    assert copied_blocks({"a": ")\n]\n" * 6, "b": ")\n]\n" * 6}) == []


def test_no_block_of_six_lines_is_repeated_in_scoring() -> None:
    sources = {name: path.read_text(encoding="utf-8") for name, path in MODULES.items()}
    assert copied_blocks(sources) == []


@pytest.mark.parametrize(
    "name", [name for name in sorted(MODULES) if not name.startswith(DOCTEST_SKIPPED)]
)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
