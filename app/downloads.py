"""The one way stored uploads are served back: as an attachment that no browser renders."""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import FileResponse

INERT_TYPES = {".zip": "application/zip"}
"""The only types a stored upload is ever sent with besides ``application/octet-stream``:
archives, which no browser renders (and which GZip leaves alone)."""
DEFAULT_TYPE = "application/octet-stream"


def stored_file_response(path: Path, filename: str) -> FileResponse:
    """A stored upload as an ``attachment`` with ``nosniff``, typed from a fixed allowlist.

    The uploader's type is never trusted: an ``.html`` or ``.svg`` prediction file or kit
    rendered by the browser would run with this site's cookies.
    """
    return FileResponse(
        path,
        filename=filename,
        media_type=INERT_TYPES.get(Path(filename).suffix.lower(), DEFAULT_TYPE),
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff"},
    )
