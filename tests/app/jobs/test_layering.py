"""The shape the jobs package promises: no import cycle among the modules of ``app``, and no
code outside ``app.jobs.state`` that writes a submission's status."""

from __future__ import annotations

import ast
from pathlib import Path

import app

APP_DIR = Path(app.__file__).parent
STATE_MODULE = "app.jobs.state"


def module_name(path: Path) -> str:
    parts = path.relative_to(APP_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in APP_DIR.rglob("*.py")}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _walk_executed(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:`` (imports that never run)."""
    nodes: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(c for c in ast.iter_child_nodes(node) if not _type_checking_only(c))
    return nodes


def imports_of(name: str) -> set[str]:
    """The ``app`` modules a module imports, at load time or inside a function alike."""
    found: set[str] = set()
    for node in _walk_executed(ast.parse(MODULES[name].read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target.startswith("app") and target != name:
                found.add(target)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path that ends where it starts, or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        on_path.discard(node)
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_among_the_modules_of_app() -> None:
    graph = {name: imports_of(name) for name in MODULES}

    assert find_cycle(graph) is None


def _writes_status(node: ast.AST) -> str | None:
    """What in ``node`` writes a submission's status, or None."""
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr == "status":
                return f"assigns {ast.unparse(target)}"
    if isinstance(node, ast.Call):
        func = ast.unparse(node.func)
        if func.endswith(".values") or func == "setattr":
            if any(k.arg == "status" for k in node.keywords):
                return f"sets status in {func}(...)"
            if func == "setattr" and len(node.args) > 1 and ast.unparse(node.args[1]) == "'status'":
                return "setattr(..., 'status', ...)"
        if func == "Submission" and any(
            k.arg == "status" and "QUEUED" not in ast.unparse(k.value) for k in node.keywords
        ):
            return "creates a Submission in a status other than queued"
    return None


def status_writers() -> list[str]:
    found = []
    for name, path in sorted(MODULES.items()):
        if name == STATE_MODULE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            what = _writes_status(node)
            if what:
                found.append(f"{name}:{node.lineno}: {what}")  # type: ignore[attr-defined]
    return found


def test_the_status_finder_sees_assignments_and_updates() -> None:
    code = "s.status = X\nupdate(Submission).values(status=X)\nSubmission(status=S.FAILED)"
    assert [_writes_status(n) for n in ast.walk(ast.parse(code)) if _writes_status(n)] == [
        "assigns s.status",
        "sets status in update(Submission).values(...)",
        "creates a Submission in a status other than queued",
    ]


def test_only_the_state_module_writes_a_submissions_status() -> None:
    assert status_writers() == []
