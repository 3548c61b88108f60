"""Conditional GETs (RFC 9110 §13): an ``ETag`` on a view and a 304 when the client has it."""

from __future__ import annotations

import hashlib

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
