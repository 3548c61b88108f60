"""Routes that answer a text file (CSV, Markdown, LaTeX) for a report: the one way they are
sent and described in the OpenAPI reference."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

EXPORT_MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "tex": "application/x-tex; charset=utf-8",
}


def attachment(content: str, media_type: str, filename: str) -> Response:
    """``content`` as a download named ``filename``."""
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def documented(examples: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of a 200 that answers one of the media types of ``examples``,
    each shown with its example (a JSON object is typed as one, text as a string)."""
    content = {
        media_type.split(";")[0]: {
            "schema": {"type": "object" if isinstance(example, dict) else "string"},
            "example": example,
        }
        for media_type, example in examples.items()
    }
    return {200: {"content": content}}
