"""Reading a package's shape with ``ast``: its modules, its import graph, cycles, and blocks
copied verbatim. Used by ``tests/test_shape.py`` and the other shape tests.

The import graph is built statically (every import statement, lazy ones inside functions
included, those under ``if TYPE_CHECKING:`` excepted since they never run), so a cycle fails
here before it fails at import time in some order.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 500
MIN_COPIED_LINES = 6


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(*packages: str) -> dict[str, Path]:
    """Every module of the named top-level packages, by dotted name."""
    return {
        module_name(path): path
        for package in packages
        for path in sorted((REPO / package).rglob("*.py"))
    }


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _executed(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:`` (imports that never run)."""
    nodes: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(c for c in ast.iter_child_nodes(node) if not _type_checking_only(c))
    return nodes


def _absolute(importer: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` statement names (relative ones resolved)."""
    if node.level == 0:
        return node.module or ""
    package = importer.split(".")
    if path.name != "__init__.py":
        package.pop()
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that module ``name`` imports (``from pkg import module`` counts
    the module; ``import a.b.c`` of a name inside a module counts that module)."""
    path = known[name]
    found: set[str] = set()
    for node in _executed(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(name, path, node)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(known: dict[str, Path]) -> dict[str, set[str]]:
    return {name: imports_of(name, known) for name in known}


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


def long_modules(known: dict[str, Path]) -> list[str]:
    """The modules over ``MAX_MODULE_LINES`` lines, with their length."""
    lengths = {name: path.read_text(encoding="utf-8").count("\n") for name, path in known.items()}
    return [f"{name} has {n} lines" for name, n in sorted(lengths.items()) if n > MAX_MODULE_LINES]


def import_lines(text: str) -> set[int]:
    """The line numbers of a module's import statements (none when it is not Python)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    return {
        number
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for number in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }


def copied_blocks(sources: dict[str, str]) -> list[tuple[str, str]]:
    """Pairs of places sharing ``MIN_COPIED_LINES`` identical consecutive code lines.

    Blank lines, comments, lines of punctuation alone and import statements are skipped: they
    repeat by nature.
    """
    seen: dict[tuple[str, ...], str] = {}
    copies: list[tuple[str, str]] = []
    for name, text in sources.items():
        imports = import_lines(text)
        code = [
            (number, line.strip())
            for number, line in enumerate(text.splitlines(), 1)
            if line.strip()
            and not line.strip().startswith("#")
            and any(c.isalnum() for c in line)
            and number not in imports
        ]
        for start in range(len(code) - MIN_COPIED_LINES + 1):
            window = tuple(line for _, line in code[start : start + MIN_COPIED_LINES])
            place = f"{name}:{code[start][0]}"
            first = seen.setdefault(window, place)
            if first != place:
                copies.append((first, place))
    return copies


def sources_of(known: dict[str, Path]) -> dict[str, str]:
    return {name: path.read_text(encoding="utf-8") for name, path in known.items()}
