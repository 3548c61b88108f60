"""Downloads that survive a broken connection: resumed with ``Range`` and checked against
the sha256 the server announced."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from app.client import output
from app.client.session import EXIT_OTHER, Api, ClientError

DOWNLOAD_CORRUPT = (
    "the download of {path} does not have the sha256 the server announced ({sha256}); "
    "it was removed, run the command again"
)


@dataclass(frozen=True)
class Downloaded:
    bytes: int
    """The size of the file."""
    received: int
    """What came over the wire this time: less than ``bytes`` when a download resumed."""


def download(
    api: Api, path: str, target: Path, description: str, *, sha256: str | None = None
) -> Downloaded:
    """Stream ``path`` into ``target`` via ``<target>.part``.

    A ``.part`` left by a broken run is resumed with ``Range`` and ``If-Range`` (the ETag it
    started with, kept in ``<target>.part.etag``): the server sends the rest (206), or the
    whole file (200) when it changed since. ``sha256``, when known, is checked at the end.
    """
    partial = target.with_name(target.name + ".part")
    validator = target.with_name(target.name + ".part.etag")
    offset = partial.stat().st_size if partial.exists() and validator.exists() else 0
    headers = (
        {"Range": f"bytes={offset}-", "If-Range": validator.read_text().strip()} if offset else {}
    )
    try:
        received = _receive(api, path, partial, validator, description, headers)
    except ClientError as exc:
        if exc.http_status != 416:
            raise
        # The range starts at or beyond the end: the part is stale; start again.
        partial.unlink()
        received = _receive(api, path, partial, validator, description, {})
    if sha256 is not None and _sha256_of(partial) != sha256:
        partial.unlink()
        validator.unlink(missing_ok=True)
        raise ClientError(DOWNLOAD_CORRUPT.format(path=path, sha256=sha256), EXIT_OTHER)
    size = partial.stat().st_size
    partial.replace(target)
    validator.unlink(missing_ok=True)
    return Downloaded(size, received)


def _receive(
    api: Api, path: str, partial: Path, validator: Path, description: str, headers: dict[str, str]
) -> int:
    """One GET into ``partial`` (appended to on a 206, written afresh otherwise); the bytes
    received."""
    with api.stream("GET", path, headers=headers) as response:
        resumed = response.status_code == 206
        kept = partial.stat().st_size if resumed else 0
        etag = response.headers.get("etag")
        if not resumed:
            if etag:
                validator.write_text(etag)
            else:
                validator.unlink(missing_ok=True)
        length = int(response.headers.get("content-length", 0)) or None
        total = kept + length if length else None
        received = 0
        with (
            output.progress_bar(description, total) as bar,
            partial.open("ab" if resumed else "wb") as sink,
        ):
            bar.advance(kept)
            for chunk in response.iter_bytes():
                sink.write(chunk)
                received += len(chunk)
                bar.advance(len(chunk))
    return received


def _sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
