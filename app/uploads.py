"""Upload routes are decided from their headers: who is asking and how large the body says it is
are checked before a byte of the body is read, and a body without a length is counted as it
streams and cut at the route's limit.

One pure ASGI middleware, driven by :data:`UPLOAD_ROUTES` (every route that takes a file, with
its limit from the settings). FastAPI parses a multipart body before it runs a route's
dependencies, so without this an anonymous or oversized upload would be written to a temporary
file first and refused afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.admission import Admission
from app.config import Settings
from app.deps import (
    TOKEN_CHECKED,
    get_optional_user,
    require_organizer_of_path,
    require_user,
)
from app.errors import AppError, FileTooLarge, ServerBusy
from app.storage import FILE_TOO_LARGE, human_bytes

FORM_ALLOWANCE = 64 * 1024
"""Bytes a multipart body may carry besides its file: boundaries, part headers, form fields."""


SUB, TESTSET, KIT = "the submitted file", "the test set upload", "the kit file"


def _submission_limit(settings: Settings) -> int:
    return max(settings.max_prediction_file_bytes, settings.max_model_file_bytes)


def _testset_limit(settings: Settings) -> int:
    return settings.max_testset_upload_bytes


def _kit_limit(settings: Settings) -> int:
    return settings.max_kit_file_bytes


@dataclass(frozen=True)
class UploadRoute:
    method: str
    path: str
    """The route's full path template, as the app registers it."""
    file_limit: Callable[[Settings], int]
    what: str
    """The upload as :data:`app.storage.FILE_TOO_LARGE` names it."""
    organizer: bool = False
    """Authorised as :func:`app.deps.require_organizer_of_path`, not merely logged in."""

    def limit(self, settings: Settings) -> int:
        return self.file_limit(settings) + FORM_ALLOWANCE

    @property
    def admitted(self) -> bool:
        """A submission: counted by the admission control (``app.admission``)."""
        return self.what == SUB

    def too_large(self, settings: Settings) -> FileTooLarge:
        limit = human_bytes(self.file_limit(settings))
        return FileTooLarge(FILE_TOO_LARGE.format(what=self.what, limit=limit))


UPLOAD_ROUTES: tuple[UploadRoute, ...] = (
    UploadRoute("POST", "/api/v1/phases/{phase_id}/submissions", _submission_limit, SUB),
    UploadRoute("POST", "/phases/{phase_id}/submit", _submission_limit, SUB),
    UploadRoute("POST", "/api/v1/phases/{phase_id}/baselines", _submission_limit, SUB, True),
    UploadRoute("POST", "/organize/phases/{phase_id}/baselines", _submission_limit, SUB, True),
    UploadRoute("POST", "/api/v1/testsets", _testset_limit, TESTSET, True),
    UploadRoute("POST", "/organize/testsets", _testset_limit, TESTSET, True),
    UploadRoute("PUT", "/api/v1/phases/{phase_id}/files/{kind}", _kit_limit, KIT, True),
    UploadRoute("POST", "/organize/phases/{phase_id}/files/{kind}", _kit_limit, KIT, True),
)
"""Every route that takes a file; ``tests/app/test_upload_precheck.py`` checks none is missing."""

_COMPILED = [(route, compile_path(route.path)[0]) for route in UPLOAD_ROUTES]


def upload_route(method: str, path: str) -> tuple[UploadRoute, dict[str, str]] | None:
    """The upload route a request is for, with its path parameters (as text)."""
    for route, pattern in _COMPILED:
        if route.method == method and (match := pattern.match(path)):
            return route, match.groupdict()
    return None


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if re.fullmatch(r"[0-9]{1,30}", text) else None
    return None


class UploadGuard:
    """Refuse an upload from its headers (401/403/404, 413), and cut a streamed one at its limit.

    Installed inside the session middleware, so a page's cookie login is already readable.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = upload_route(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        route, path_params = found
        admission: Admission | None = scope["app"].state.admission if route.admitted else None
        try:
            started = admission.enter() if admission is not None else 0.0
        except ServerBusy as busy:
            await _render(scope, Request(scope), busy)(scope, receive, send)
            return
        try:
            await self._guarded(scope, receive, send, route, path_params, admission)
        finally:
            if admission is not None:
                admission.leave(started)

    async def _guarded(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: UploadRoute,
        path_params: dict[str, str],
        admission: Admission | None,
    ) -> None:
        settings: Settings = scope["app"].state.settings
        limit = route.limit(settings)
        request = Request({**scope, "path_params": path_params})
        try:
            user_id = await run_in_threadpool(_authorise, request, route)
            declared = _declared_length(scope)
            if declared is not None and declared > limit:
                raise route.too_large(settings)
            if admission is not None:
                admission.enter_user(user_id)  # the caller's share, once they are known
        except AppError as refused:
            await _render(scope, request, refused)(scope, receive, send)
            return
        try:
            await self._read(scope, receive, send, request, limit, route.too_large(settings))
        finally:
            if admission is not None:
                admission.leave_user(user_id)

    async def _read(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
        limit: int,
        too_large: FileTooLarge,
    ) -> None:
        """The route itself, its body counted and cut at the limit."""
        counted = _Counted(scope, request, receive, send, limit, too_large)
        try:
            await self.app(scope, counted.receive, counted.send)
        except Exception:
            # Cutting the body makes the app's form parser fail; the 413 is already sent.
            if not counted.refused:
                raise


def _render(scope: Scope, request: Request, error: AppError) -> Any:
    """The app's own rendering of a domain error: JSON for the API, a page or a redirect."""
    handler = scope["app"].exception_handlers[AppError]
    return _Deferred(handler, request, error)


class _Deferred:
    """An ASGI response produced by the (async) error handler when it is sent."""

    def __init__(self, handler: Any, request: Request, error: AppError) -> None:
        self.handler, self.request, self.error = handler, request, error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(self.request, self.error)
        response.headers["connection"] = "close"  # the unread body must not be taken as a request
        await response(scope, receive, send)


def _authorise(request: Request, route: UploadRoute) -> int:
    """The same checks the route's own dependencies make, in a session of their own; the
    caller's user id."""
    database = request.app.state.db
    with database.transaction() as session:
        user = require_user(get_optional_user(request, session))
        if route.organizer:
            require_organizer_of_path(request, session, user)
        if "authorization" in request.headers and "state" in request.scope:
            # The route need not look the token up again (the state is the request's own).
            request.scope["state"][TOKEN_CHECKED] = user.id
        return user.id


class _Counted:
    """A ``receive`` that counts the body and, past the limit, answers 413 and ends the read."""

    def __init__(
        self,
        scope: Scope,
        request: Request,
        receive: Receive,
        send: Send,
        limit: int,
        too_large: FileTooLarge,
    ) -> None:
        self.too_large = too_large
        self.scope, self.request, self.inner, self.outer = scope, request, receive, send
        self.limit = limit
        self.seen = 0
        self.refused = False
        self.started = False
        """Whether the app began its response (then it is too late to answer 413)."""

    async def receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self.inner()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                self.refused = True
                if not self.started:
                    await _render(self.scope, self.request, self.too_large)(
                        self.scope, self.inner, self.outer
                    )
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        """The app's own messages; dropped once the 413 has been answered in its place."""
        if self.refused:
            return
        self.started = True
        await self.outer(message)
