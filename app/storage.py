"""Files under the data directory: uploads streamed to disk with a size cap and a digest."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.errors import FileTooLarge

CHUNK = 1024 * 1024
FILE_TOO_LARGE = "{what} is larger than the limit of {limit}"


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class StoredFile:
    path: Path
    size_bytes: int
    sha256: str


def safe_filename(name: str | None, default: str = "upload") -> str:
    """The base name of an uploaded file, stripped of any directory part and odd characters."""
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in base).lstrip(".")
    return cleaned[:200] or default


def save_stream(source: BinaryIO, dest: Path, *, limit: int, what: str = "the file") -> StoredFile:
    """Copy ``source`` to ``dest`` chunk by chunk; over ``limit`` bytes nothing is kept."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(
                        FILE_TOO_LARGE.format(what=what, limit=human_bytes(limit)),
                        limit_bytes=limit,
                    )
                digest.update(chunk)
                out.write(chunk)
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return StoredFile(path=dest, size_bytes=size, sha256=digest.hexdigest())


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
