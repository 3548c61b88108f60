"""The one way stored uploads are served back: as an attachment that no browser renders."""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import FileResponse


def stored_file_response(path: Path, filename: str) -> FileResponse:
    """A stored upload as ``application/octet-stream``, ``attachment``, ``nosniff``.

    Its own type is never trusted: an ``.html`` or ``.svg`` prediction file or kit rendered by
    the browser would run with this site's cookies.
    """
    return FileResponse(
        path,
        filename=filename,
        media_type="application/octet-stream",
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff"},
    )
