"""The one way stored files are served back: as an attachment that no browser renders.

Starlette's ``FileResponse`` answers ``Range`` requests (206 with ``Content-Range``, 416 with
``Content-Range: bytes */size`` past the end, the full file when ``If-Range`` names another
version) and sends ``Accept-Ranges``, ``ETag`` and ``Last-Modified``, so a broken download
resumes; ``tests/app/test_downloads.py`` pins that behaviour through this helper.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse

INERT_TYPES = {".zip": "application/zip"}
"""The only types a stored upload is ever sent with besides ``application/octet-stream``:
archives, which no browser renders (and which GZip leaves alone)."""
DEFAULT_TYPE = "application/octet-stream"
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    206: {
        "description": "The byte range asked for with `Range: bytes=start-` (resuming a "
        "download; honours `If-Range`), with `Content-Range`.",
    },
    416: {"description": "The range starts beyond the file; `Content-Range: bytes */size`."},
}
"""The OpenAPI description of what a ranged download may answer besides the whole file."""


def stored_file_response(path: Path, filename: str, *, etag: str | None = None) -> FileResponse:
    """A stored file as an ``attachment`` with ``nosniff``, typed from a fixed allowlist.

    The uploader's type is never trusted: an ``.html`` or ``.svg`` prediction file or kit
    rendered by the browser would run with this site's cookies. Files Fairboard builds itself
    may pass an ``etag`` computed from their content (the same on every replica).
    """
    headers = {"X-Content-Type-Options": "nosniff"}
    if etag is not None:
        headers["ETag"] = etag
    return FileResponse(
        path,
        filename=filename,
        media_type=INERT_TYPES.get(Path(filename).suffix.lower(), DEFAULT_TYPE),
        content_disposition_type="attachment",
        headers=headers,
    )
