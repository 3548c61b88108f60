"""Conditional GETs (RFC 9110 §13): an ``ETag`` on a view and a 304 when the client has it."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response

PRIVATE = "private, no-cache"
"""A view that depends on who asks: kept by the viewer's browser only, revalidated each time."""
SHARED = "public, no-cache"
"""A view anyone may see, the same for all: shared caches may keep it, revalidated each time."""


def etag_of(body: bytes, *parts: object) -> str:
    """A strong entity tag for a representation: its bytes and what else it depends on."""
    digest = hashlib.blake2b(body, digest_size=16)
    digest.update(repr(parts).encode())
    return f'"{digest.hexdigest()}"'


def matches(request: Request, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 asks for GET)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = (tag.strip().removeprefix("W/") for tag in header.split(","))
    return etag in tags


def not_modified(etag: str, cache_control: str) -> Response:
    """The 304 for a client whose copy is current."""
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": cache_control})


def validators(etag: str, cache_control: str) -> dict[str, str]:
    """The headers a full response carries so the client can ask again conditionally."""
    return {"ETag": etag, "Cache-Control": cache_control}


GZIP_MINIMUM = 1024
"""The GZip middleware's ``minimum_size`` (app.main takes it from here): a smaller body goes
as it is."""
GZIPPED = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}


def compress(body: bytes) -> bytes:
    """``body`` as the GZip middleware compresses it (level 6), for a view to keep."""
    return gzip.compress(body, compresslevel=6, mtime=0)


def encoded(
    request: Request, body: bytes, kept: Callable[[], bytes]
) -> tuple[bytes, dict[str, str]]:
    """What to send of a kept representation and its extra headers: ``kept()`` (its
    :func:`compress`, made once by the caller) where the GZip middleware would compress it,
    which then passes it on as it is; else ``body``."""
    if len(body) < GZIP_MINIMUM or "gzip" not in request.headers.get("accept-encoding", ""):
        return body, {}
    return kept(), GZIPPED
