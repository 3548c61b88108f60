"""The shape of ``app`` and ``scoring``: no import cycle, no module over 500 lines, no block of
six lines copied verbatim, and the layering every module keeps (helpers in
``tests/support/shape.py``; ``tests/scoring/test_shape.py`` adds the engine's doctests).

Layers, from the top (each may import its own layer and those listed for it):

    entry     app.main, app.cli, app.migrate, app.uploads, app.services.demo
    routes    app.routes.*                   → web, runners, services, jobs, base, models, scoring
    web       app.deps, app.throttle, ...    → presenters, runners, services, jobs, base, ...
    runners   app.jobs.execute/intake/runner/worker/deliveries → presenters, services, jobs, ...
    presenters app.presenters (responses, also webhook bodies) → services, jobs, base, ...
    services  app.services.*                 → jobs, base, models, scoring
    jobs      app.jobs.state/leases/sweep/dispatch → models, db
    base      app.schemas, app.phase_settings, app.storage, ... → models, db, scoring
    models    app.models.*                   → db
    db        app.db, app.config, app.errors, app.timeutil
    scoring   scoring.*                      → nothing of app
"""

from __future__ import annotations

import ast

import pytest

from tests.support.shape import (
    copied_blocks,
    find_cycle,
    import_graph,
    long_modules,
    modules,
    sources_of,
)

PACKAGES = ("app", "scoring")
APP_AND_SCORING = modules(*PACKAGES)

LAYER_OF = {
    "scoring": "scoring",
    "app.db": "db",
    "app.config": "db",
    "app.errors": "db",
    "app.timeutil": "db",
    "app.models": "models",
    "app": "base",
    "app.jobs": "jobs",
    "app.jobs.execute": "runners",
    "app.jobs.intake": "runners",
    "app.jobs.runner": "runners",
    "app.jobs.worker": "runners",
    "app.jobs.deliveries": "runners",
    "app.services": "services",
    "app.deps": "web",
    "app.presenters": "presenters",
    "app.throttle": "web",
    "app.downloads": "web",
    "app.http_security": "web",
    "app.routes": "routes",
    "app.main": "entry",
    "app.cli": "entry",
    "app.migrate": "entry",
    "app.uploads": "entry",
    # Seeds a whole demo in its own transactions and runs its baselines, as the CLI would.
    "app.services.demo": "entry",
}
"""A module's layer: that of the longest dotted prefix listed."""

FOUNDATION = {"jobs", "base", "models", "db", "scoring"}
"""Layers everything from the services up may import."""
STACK = ("entry", "routes", "web", "runners", "presenters", "services")
"""The upper layers, top first: each may import those after it and the foundation."""

BELOW = {
    "scoring": set(),
    "db": set(),
    "models": {"db"},
    "base": {"models", "db", "scoring"},
    "jobs": {"models", "db"},
} | {layer: set(STACK[i + 1 :]) | FOUNDATION for i, layer in enumerate(STACK)}
"""The layers each layer may import besides its own."""

UPWARD_EDGES = {
    # make_dispatcher builds the runner the settings ask for (a lazy import).
    ("app.jobs.dispatch", "app.jobs.runner"),
    ("app.jobs.dispatch", "app.jobs.worker"),
}


def layer_of(name: str) -> str:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYER_OF:
            return LAYER_OF[prefix]
    raise KeyError(name)


def layering_breaches(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a layer its importer may not use, as ``a (layer) -> b (layer)``."""
    breaches = []
    for importer, targets in sorted(graph.items()):
        here = layer_of(importer)
        for target in sorted(targets):
            there = layer_of(target)
            allowed = there == here or there in BELOW[here]
            if not allowed and (importer, target) not in UPWARD_EDGES:
                breaches.append(f"{importer} ({here}) -> {target} ({there})")
    return breaches


def test_every_module_has_a_layer() -> None:
    assert [name for name in APP_AND_SCORING if layer_of(name) not in BELOW] == []


def test_the_layering_check_sees_a_service_importing_a_route() -> None:
    graph = {
        "app.services.phases": {"app.routes.api.phases", "app.jobs.state"},
        "app.models.user": {"app.db"},
    }
    assert layering_breaches(graph) == [
        "app.services.phases (services) -> app.routes.api.phases (routes)"
    ]


def test_app_and_scoring_keep_their_layers() -> None:
    assert layering_breaches(import_graph(APP_AND_SCORING)) == []


COMMITTING = {"app.deps"}
"""Besides entry points and ``app.jobs``: ``deps.get_session`` commits the request's work."""


def commits_in(source: str) -> list[int]:
    """The lines that call ``.commit()`` on anything."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_the_commit_finder_sees_a_commit_on_any_session() -> None:
    assert commits_in("x = 1\nsession.commit()\npost.session.commit()\n") == [2, 3]


def test_only_the_request_and_job_boundaries_commit() -> None:
    misplaced = [
        f"{name}:{line}"
        for name, path in sorted(APP_AND_SCORING.items())
        if layer_of(name) in {"routes", "web", "services", "base", "models"}
        and name not in COMMITTING
        for line in commits_in(path.read_text(encoding="utf-8"))
    ]
    assert misplaced == []


def test_the_graph_sees_package_relative_lazy_and_module_imports() -> None:
    graph = import_graph(APP_AND_SCORING)
    assert "app.telemetry" in graph["app.jobs.execute"]  # from app import telemetry
    assert "app.jobs.runner" in graph["app.jobs.dispatch"]  # inside a function
    assert "app.services.submit" in graph["app.jobs.intake"]
    assert "scoring.testset.messages" in graph["scoring.testset.model"]  # from .messages


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_copy_finder_sees_six_repeated_lines_and_ignores_punctuation_and_imports() -> None:
    block = "".join(f"x{i} = {i}\n" for i in range(6))
    assert copied_blocks({"a": block, "b": "y = 1\n" + block}) == [("a:1", "b:2")]
    assert copied_blocks({"a": block[:-7], "b": block[:-7]}) == []
    assert copied_blocks({"a": ")\n]\n" * 6, "b": ")\n]\n" * 6}) == []
    imports = "".join(f"import m{i}\n" for i in range(6))
    assert copied_blocks({"a": imports, "b": imports}) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package: str) -> None:
    assert find_cycle(import_graph(modules(package))) is None


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_exceeds_500_lines(package: str) -> None:
    assert long_modules(modules(package)) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_block_of_six_lines_is_repeated(package: str) -> None:
    assert copied_blocks(sources_of(modules(package))) == []
