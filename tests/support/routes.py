"""Every HTTP route of an app, with its full path, for tests that must cover them all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute


def all_routes(app: Any) -> set[tuple[str, str]]:
    """``(method, path)`` of every API and page route (HEAD and the docs pages left out)."""
    return {(method, path) for method, path, _ in routed(app)}


def routed(app: Any) -> Iterator[tuple[str, str, APIRoute]]:
    """``(method, full path, route)`` of every API and page route (HEAD left out)."""

    def walk(router: Any, prefix: str) -> Iterator[tuple[str, str, APIRoute]]:
        for route in router.routes:
            if isinstance(route, APIRoute):
                for method in (route.methods or set()) - {"HEAD"}:
                    yield method, prefix + route.path, route
            elif hasattr(route, "original_router"):
                # An included router's routes carry its own prefix; the includer's comes here.
                yield from walk(route.original_router, prefix + route.include_context.prefix)

    yield from walk(app.router, "")
