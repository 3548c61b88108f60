"""A conditional GET of a leaderboard page, answered 304 before routing when the client's copy
is current: a deadline rush re-reads the board all the time, and FastAPI's routing and
dependency solving cost more than the check itself."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.db import DB_ID_MAX, utcnow
from app.deps import get_optional_user
from app.errors import AppError
from app.routes.conditional import PRIVATE, matches, not_modified
from app.routes.pages.leaderboards import DEFAULT_VIEW, GROUP_TABS, tag_page
from app.routes.pages.paging import MAX_PAGE, SEARCH_MAX

PAGE_PATH = re.compile(r"/phases/([0-9]{1,10})/leaderboard")


class PageRevalidation:
    """ASGI: 304 when the tag the route would give (:func:`tag_page`, the same checks) is the
    client's; anything else (another tag, a refusal, a query the route would refuse) goes on
    to the route, which answers it as ever."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = (
            PAGE_PATH.fullmatch(scope["path"])
            if scope["type"] == "http" and scope["method"] == "GET"
            else None
        )
        if found is not None and _has_if_none_match(scope):
            response = await run_in_threadpool(_revalidated, Request(scope), int(found[1]))
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _has_if_none_match(scope: Scope) -> bool:
    return any(name == b"if-none-match" for name, _ in scope["headers"])


def _revalidated(request: Request, phase_id: int) -> Response | None:
    """The route's 304 for ``request``, or None for the route to answer."""
    query = request.query_params
    page_text = query.get("page", "1")
    if not page_text.isascii():  # int() takes "٣", which the route's validation refuses
        return None
    try:
        page = int(page_text)
    except ValueError:
        return None
    valid = (
        1 <= phase_id <= DB_ID_MAX
        and 1 <= page <= MAX_PAGE
        and len(query.get("q", "")) <= SEARCH_MAX
        and query.get("split", "public") in ("public", "private")
    )
    if not valid:
        return None
    with request.app.state.db.transaction() as session:
        try:
            user = get_optional_user(request, session)
            tagged = tag_page(
                request,
                session,
                user,
                utcnow(),
                phase_id,
                split=query.get("split", "public"),
                view=query.get("view", DEFAULT_VIEW),
                groups=query.get("groups", GROUP_TABS[0][0]),
            )
        except AppError:
            return None
        if tagged.etag is None or not matches(request, tagged.etag):
            return None
        return not_modified(tagged.etag, PRIVATE)
