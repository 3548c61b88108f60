"""Every HTTP route of an app, with its full path, for tests that must cover them all."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute


def all_routes(app: Any) -> set[tuple[str, str]]:
    """``(method, path)`` of every API and page route (HEAD and the docs pages left out)."""
    found: set[tuple[str, str]] = set()

    def walk(router: Any, prefix: str) -> None:
        for route in router.routes:
            if isinstance(route, APIRoute):
                for method in route.methods - {"HEAD"}:
                    found.add((method, prefix + route.path))
            elif hasattr(route, "original_router"):
                # An included router's routes carry its own prefix; the includer's comes here.
                walk(route.original_router, prefix + route.include_context.prefix)

    walk(app.router, "")
    return found
