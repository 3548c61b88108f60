"""The OpenAPI reference: every API route is described, and every /api/v1 route shows an
example of its JSON request body and of each answer it succeeds with, each a valid instance of
its schema."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from app import phase_settings, schemas


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


def component(app: Any, schema: dict[str, Any]) -> str | None:
    """The name of the model a schema refers to (directly, as a list's items, or optional)."""
    for candidate in [schema, schema.get("items", {}), *schema.get("anyOf", [])]:
        if "$ref" in candidate:
            name: str = candidate["$ref"].rsplit("/", 1)[-1]
            return name
    return None


def media(app: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every (operation, part, media type, content) of /api/v1 that carries a body: the JSON
    request body and each media type of the success answer."""
    found = []
    for method, path, operation in operations(app):
        if not path.startswith("/api/v1/"):
            continue
        name = f"{method.upper()} {path}"
        body = operation.get("requestBody", {}).get("content", {})
        if "application/json" in body:
            found.append((name, "request", "application/json", body["application/json"]))
        for code, response in operation["responses"].items():
            if code.startswith("2"):
                for media_type, content in response.get("content", {}).items():
                    found.append((name, f"answer {code}", media_type, content))
    return found


def examples_of(app: Any, content: dict[str, Any]) -> list[Any]:
    """The examples a body shows: its own, or those of the model its schema refers to."""
    if "example" in content:
        return [content["example"]]
    name = component(app, content["schema"])
    if name is None:
        return []
    shown: list[Any] = app.openapi()["components"]["schemas"][name].get("examples", [])
    return shown


def test_every_api_body_shows_an_example(app: Any) -> None:
    bare = [
        f"{name} ({part}, {media_type})"
        for name, part, media_type, content in media(app)
        if not examples_of(app, content)
    ]
    assert bare == []


def test_the_check_finds_a_route_without_an_example(app: Any) -> None:
    @app.get("/api/v1/undocumented", response_model=schemas.ErrorOut)
    def undocumented() -> None:
        """Answers an error, documented but with no example."""

    app.openapi_schema = None
    assert "GET /api/v1/undocumented" in [
        name for name, _, _, content in media(app) if not examples_of(app, content)
    ]


def models() -> dict[str, type[BaseModel]]:
    """Every request and response model, by the name the OpenAPI schema gives it."""
    return {
        name: model
        for module in (schemas, phase_settings)
        for name, model in vars(module).items()
        if isinstance(model, type) and issubclass(model, BaseModel)
    }


def test_every_inline_example_is_a_valid_instance_of_its_schema(app: Any) -> None:
    # Examples of models are checked on the model below: FastAPI drops their nulls when it
    # renders the reference, so the rendered copy is not the example itself.
    invalid = [
        f"{name} ({part}, {media_type})"
        for name, part, media_type, content in media(app)
        if component(app, content["schema"]) is None
        for example in examples_of(app, content)
        if not isinstance(example, dict if content["schema"]["type"] == "object" else str)
    ]
    assert invalid == []


@pytest.mark.parametrize(
    "model",
    [model for model in models().values() if (model.model_config.get("json_schema_extra") or {})],
)
def test_every_example_is_a_valid_instance(model: type[BaseModel]) -> None:
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    for example in extra["examples"]:
        assert model.model_validate(example).model_dump(mode="json", exclude_unset=True)
