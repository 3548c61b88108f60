"""``scoring`` stands alone: no web or database imports, onnxruntime only in scoring/inference/.

A student installs the package and scores locally with the leaderboard's code; the web process
never loads onnxruntime. Both are checked statically (every import statement in every source
file, including lazy ones inside functions) and dynamically (what importing really loads).
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCORING = REPO / "scoring"
INFERENCE = SCORING / "inference"
FORBIDDEN_EVERYWHERE = frozenset({"app", "fastapi", "starlette", "sqlalchemy"})
INFERENCE_ONLY = frozenset({"onnxruntime"})


def imported_roots(path: Path) -> list[tuple[int, str]]:
    """(line, top-level module) of every absolute import in a file, static or by name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def source_files() -> list[Path]:
    return sorted(SCORING.rglob("*.py"))


def test_the_scanner_sees_every_kind_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os.path, fastapi\n"
        "from sqlalchemy.orm import Session\n"
        "from . import sibling\n"
        "def lazy():\n"
        "    import onnxruntime as ort\n"
        "    importlib.import_module('app.main')\n"
        "    __import__('starlette')\n"
    )
    assert imported_roots(sample) == [
        (1, "os"),
        (1, "fastapi"),
        (2, "sqlalchemy"),
        (5, "onnxruntime"),
        (6, "app"),
        (7, "starlette"),
    ]


def test_scoring_sources_import_nothing_from_the_web_service_or_the_database() -> None:
    offending = [
        f"{path.relative_to(REPO)}:{line} imports {root}"
        for path in source_files()
        for line, root in imported_roots(path)
        if root in FORBIDDEN_EVERYWHERE
    ]
    assert offending == []


def test_only_scoring_inference_imports_onnxruntime() -> None:
    offending = [
        f"{path.relative_to(REPO)}:{line} imports {root}"
        for path in source_files()
        if INFERENCE not in path.parents
        for line, root in imported_roots(path)
        if root in INFERENCE_ONLY
    ]
    assert offending == []


def test_the_inference_parent_side_never_imports_onnxruntime() -> None:
    # ARCHITECTURE.md: the sandbox starts a child for onnxruntime and must not load it itself.
    sandbox = INFERENCE / "sandbox.py"
    if not sandbox.exists():
        pytest.skip("scoring/inference/sandbox.py is not there yet")
    assert [root for _, root in imported_roots(sandbox) if root in INFERENCE_ONLY] == []


def test_importing_the_engine_loads_no_web_database_or_onnxruntime_module() -> None:
    modules = [
        name
        for name in (
            "scoring",
            "scoring.groups",
            "scoring.metrics",
            "scoring.ranking",
            "scoring.predictions",
            "scoring.testset",
            "scoring.synthetic",
            "scoring.__main__",
        )
        if importlib.util.find_spec(name) is not None
    ]
    assert {"scoring.metrics", "scoring.ranking", "scoring.predictions"} <= set(modules)
    code = (
        f"import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules}\n"
        "                & {'app', 'fastapi', 'sqlalchemy', 'starlette', 'onnxruntime'})\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_one_liner_from_the_issue_passes() -> None:
    code = (
        "import scoring.metrics, scoring.ranking, scoring.predictions, scoring.testset; "
        "import sys; assert not any(m.split('.')[0] in "
        "{'app','fastapi','sqlalchemy','starlette','onnxruntime'} for m in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
