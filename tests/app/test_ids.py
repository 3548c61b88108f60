"""Ids and other integers in paths and queries: out of range or not a whole number is a 404 or
422, never a 500, and never reaches the database driver (run on SQLite and PostgreSQL).

Row ids are bounded by PostgreSQL's 32-bit ``INTEGER`` keys, other integers by 64 bits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from annotated_types import Ge, Le
from fastapi import params
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.db import DB_ID_MAX, DB_INT_MAX
from tests.app.conftest import World

BAD_IDS = [str(2**64), str(2**63), str(2**31), "-1", "0", "abc", "1.5", "1e3", "١"]


def _int_parameters(app: Any) -> Iterator[tuple[str, str, str, Any]]:
    """``(method, path, parameter, field)`` of every integer path or query parameter."""

    def walk(router: Any, prefix: str) -> Iterator[tuple[str, str, str, Any]]:
        for route in router.routes:
            if isinstance(route, APIRoute):
                for field in get_flat_params(route.dependant):
                    in_path_or_query = isinstance(field.field_info, params.Path | params.Query)
                    if in_path_or_query and field.field_info.annotation in (int, int | None):
                        for method in sorted(route.methods - {"HEAD"}):
                            yield method, prefix + route.path, field.name, field
            elif hasattr(route, "original_router"):
                yield from walk(route.original_router, prefix + route.include_context.prefix)

    yield from walk(app.router, "")


def _bounds(field: Any) -> tuple[int | None, int | None]:
    low = high = None
    for constraint in field.field_info.metadata:
        if isinstance(constraint, Ge):
            low = int(constraint.ge)  # type: ignore[call-overload]
        if isinstance(constraint, Le):
            high = int(constraint.le)  # type: ignore[call-overload]
    return low, high


def test_every_integer_path_or_query_parameter_is_bounded_to_the_database_range(
    app: Any,
) -> None:
    parameters = list(_int_parameters(app))
    assert len(parameters) > 40, "the walk must find the routes' ids"
    unbounded = [
        f"{method} {path}: {name}"
        for method, path, name, field in parameters
        if (bounds := _bounds(field))[0] is None
        or bounds[1] is None
        or not (-DB_INT_MAX - 1 <= bounds[0] <= bounds[1] <= DB_INT_MAX)
        or (name.endswith("_id") and bounds[1] > DB_ID_MAX)
    ]
    assert unbounded == [], "use app.deps.DbId / QueryOffset (or Query(ge=..., le=...))"


def _id_routes(app: Any) -> list[tuple[str, str]]:
    return sorted({(method, path) for method, path, _, _ in _int_parameters(app) if "_id}" in path})


@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_malformed_or_out_of_range_id_is_404_or_422_on_every_route(
    client: TestClient, world: World, bad: str
) -> None:
    admin = world.headers(world.admin)
    seen = []
    for method, path in _id_routes(client.app):
        url = re.sub(r"\{(\w+_id)\}", bad, path)
        url = re.sub(r"\{(\w+)\}", "x", url)
        response = client.request(method, url, headers=admin, follow_redirects=False)
        seen.append((method, path, response.status_code))
    wrong = [entry for entry in seen if entry[2] not in (404, 422)]
    assert wrong == []


@pytest.mark.parametrize("bad", [str(2**64), "-1", "abc", "1.5"])
def test_a_malformed_or_out_of_range_offset_is_422(
    client: TestClient, world: World, bad: str
) -> None:
    response = client.get(
        f"/api/v1/competitions/{world.competition_id}/audit",
        params={"offset": bad},
        headers=world.headers(world.organizer),
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/phases/{}",
        "/api/v1/submissions/{}",
        "/api/v1/phases/{}/settings",
        "/organize/phases/{}",
    ],
)
def test_the_largest_id_is_a_plain_not_found(client: TestClient, world: World, path: str) -> None:
    response = client.get(path.format(DB_ID_MAX), headers=world.headers(world.admin))
    assert response.status_code == 404


@pytest.mark.parametrize("bad", [2**31, 2**64, 0])
def test_a_test_set_id_out_of_range_in_a_body_is_422(
    client: TestClient, world: World, bad: int
) -> None:
    response = client.post(
        f"/api/v1/phases/{world.phase_id}/rescore",
        json={"testset_id": bad},
        headers=world.headers(world.organizer),
    )
    assert response.status_code == 422
