"""The API documentation (Swagger UI and ReDoc), served offline from fastapi-offline's assets
with no inline script, so the pages work without the internet and under the CSP."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.routes.pages.render import templates

DOCS_ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
DOCS_ASSETS_PATH = "/docs-assets"
OPENAPI_URL = "/openapi.json"

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI for the REST API."""
    return templates.TemplateResponse(
        request, "docs/swagger.html", {"assets": DOCS_ASSETS_PATH, "openapi_url": OPENAPI_URL}
    )


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc for the REST API."""
    return templates.TemplateResponse(
        request, "docs/redoc.html", {"assets": DOCS_ASSETS_PATH, "openapi_url": OPENAPI_URL}
    )
