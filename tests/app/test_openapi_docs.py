"""The OpenAPI reference: every API route is described, and the routes participants script
show an example of what they answer, which is a valid instance of the answer's schema."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from app import schemas

SCRIPTED = [
    ("post", "/api/v1/auth/token"),
    ("get", "/api/v1/auth/me"),
    ("get", "/api/v1/auth/tokens"),
    ("get", "/api/v1/competitions"),
    ("get", "/api/v1/competitions/{competition_id}"),
    ("get", "/api/v1/phases/{phase_id}"),
    ("get", "/api/v1/phases/{phase_id}/leaderboard"),
    ("post", "/api/v1/phases/{phase_id}/submissions"),
    ("get", "/api/v1/phases/{phase_id}/submissions/mine"),
    ("get", "/api/v1/submissions/{submission_id}"),
    ("post", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks/{webhook_id}/deliveries"),
    ("post", "/api/v1/webhooks/{webhook_id}/test"),
]


def operations(app: Any) -> list[tuple[str, str, dict[str, Any]]]:
    paths = app.openapi()["paths"]
    return [
        (method, path, operation)
        for path, methods in paths.items()
        if path.startswith("/api/")
        for method, operation in methods.items()
    ]


def test_every_api_route_has_a_summary_and_a_description(app: Any) -> None:
    bare = [
        f"{method.upper()} {path}"
        for method, path, operation in operations(app)
        if not operation.get("summary") or not operation.get("description")
    ]
    assert bare == []


def resolved(app: Any, schema: dict[str, Any]) -> dict[str, Any]:
    schema = schema.get("items", schema)
    name = schema["$ref"].rsplit("/", 1)[-1]
    found: dict[str, Any] = app.openapi()["components"]["schemas"][name]
    return found


@pytest.mark.parametrize(("method", "path"), SCRIPTED)
def test_scripted_routes_show_an_example_answer(app: Any, method: str, path: str) -> None:
    operation = app.openapi()["paths"][path][method]
    (ok,) = [r for code, r in operation["responses"].items() if code.startswith("2")]
    schema = ok["content"]["application/json"]["schema"]
    assert resolved(app, schema).get("examples"), f"{method.upper()} {path} has no example"


@pytest.mark.parametrize(
    "model",
    [
        model
        for model in vars(schemas).values()
        if isinstance(model, type)
        and issubclass(model, BaseModel)
        and (model.model_config.get("json_schema_extra") or {})
    ],
)
def test_every_example_is_a_valid_instance(model: type[BaseModel]) -> None:
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    for example in extra["examples"]:
        assert model.model_validate(example).model_dump(mode="json", exclude_unset=True)
