"""The promise of the jobs package: no code outside ``app.jobs.state`` writes a submission's
status. (Import cycles and layering: ``tests/test_shape.py``.)"""

from __future__ import annotations

import ast

from tests.support.shape import modules

STATE_MODULE = "app.jobs.state"
MODULES = modules("app")


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
