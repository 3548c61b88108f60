"""Annotated dependency aliases shared by the API and the pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import DB_ID_MAX, DB_INT_MAX, Database, utcnow
from app.errors import CsrfFailed, Forbidden, NotAuthenticated, NotFound
from app.jobs.dispatch import JobDispatcher
from app.jobs.intake import Intake
from app.models import User
from app.security import csrf_matches, new_csrf_token
from app.services import accounts

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_REQUIRED = "log in or send an API token (Authorization: Bearer ...) to do this"
NOT_FOUND_ID = "{what} {raw!r} not found: ids are whole numbers from 1 to 2**31-1"
CSRF_MISSING = "the form is missing a valid CSRF token; reload the page and try again"


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_jobs(request: Request) -> JobDispatcher:
    jobs: JobDispatcher = request.app.state.jobs
    return jobs


async def get_session(db: Annotated[Database, Depends(get_database)]) -> AsyncIterator[Session]:
    """One session per request, committed when the route returns without error.

    async: opening a session does no I/O (its connection is taken at its first statement), so
    it costs no trip through the thread pool (each costs as much as a small query); the commit
    or rollback and the close make one trip, and none for a session that began no transaction.
    """
    session = db.sessionmaker()
    try:
        yield session
    except BaseException:
        await _ended(session, _roll_back)
        raise
    await _ended(session, _commit)


def end_reads(session: Session) -> None:
    """End a view's read-only transaction in the route's own thread, once it has read all it
    needs: :func:`get_session` then has nothing left to do, and no trip to make for it."""
    session.commit()


def _commit(session: Session) -> None:
    with session:
        session.commit()


def _roll_back(session: Session) -> None:
    with session:
        session.rollback()


async def _ended(session: Session, end: Callable[[Session], None]) -> None:
    if not session.in_transaction():
        session.close()  # nothing to commit, and no connection to give back: no I/O
        return
    # Shielded: a client that disconnects must not leave the transaction open.
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(end, session)


async def get_now() -> datetime:
    return utcnow()


DbId = Annotated[int, Path(ge=1, le=DB_ID_MAX)]
"""A row id in a route's path: a whole number a row can have, else 422 (never a 500)."""
QueryOffset = Annotated[int, Query(ge=0, le=DB_INT_MAX)]
"""Rows a listing skips, bounded so nothing reaches the driver unchecked."""

SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
# scope="function": commit before the response is sent, so a client never sees a success whose
# commit then fails, nor reads its own write before it is committed.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
JobsDep = Annotated[JobDispatcher, Depends(get_jobs)]
NowDep = Annotated[datetime, Depends(get_now)]


async def get_intake(
    session: SessionDep, db: DatabaseDep, settings: SettingsDep, jobs: JobsDep
) -> Intake:
    # async: no I/O, so no trip through the thread pool (each costs as much as the work).
    return Intake(session, db, settings, jobs)


IntakeDep = Annotated[Intake, Depends(get_intake)]
"""Commits the request's accepted submission, then evaluates it (``Intake.start``)."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return str(token)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


TOKEN_CHECKED = "fairboard_token_user_id"
"""Request state: the owner of the request's API token, already checked by the upload guard."""


async def optional_user(request: Request, session: SessionDep) -> User | None:
    """The caller (:func:`get_optional_user`); an anonymous one is known without I/O, so only
    a request with a token or a login cookie makes the trip through the thread pool."""
    if _bearer(request) is None and not isinstance(request.session.get("user_id"), int):
        return None
    return await run_in_threadpool(get_optional_user, request, session)


def get_optional_user(request: Request, session: Session) -> User | None:
    """The caller: by API token, else by session cookie (with CSRF checked on writes)."""
    token = _bearer(request)
    if token is not None:
        checked = request.scope.get("state", {}).get(TOKEN_CHECKED)
        if isinstance(checked, int):
            # This request's token was checked moments ago (app.uploads): only the owner's row.
            user = session.get(User, checked)
            if user is not None and user.is_active:
                return user
        return accounts.user_for_token(session, token)
    user_id = request.session.get("user_id")
    if not isinstance(user_id, int):
        return None
    # A session ended by logging out, a password change or disabling carries an old version.
    user = accounts.session_user(session, user_id, request.session.get("session_version"))
    if user is None:
        request.session.clear()
        return None
    # Pages check the form field themselves; API calls made with the cookie need the header.
    if (
        request.method not in SAFE_METHODS
        and request.url.path.startswith("/api/")
        and not csrf_matches(request.session.get("csrf"), request.headers.get("x-csrf-token"))
    ):
        raise CsrfFailed(CSRF_MISSING)
    return user


def require_user(user: User | None) -> User:
    """The caller, or 401 when nobody is logged in."""
    if user is None:
        raise NotAuthenticated(LOGIN_REQUIRED)
    return user


async def get_current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    return require_user(user)  # async: no I/O, no trip through the thread pool


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]


def _path_id(params: Mapping[str, Any], name: str, what: str) -> int:
    """A path id read before the route validates it: one no row can have is simply not found."""
    raw = str(params[name])
    value = int(raw) if raw.isascii() and raw.isdigit() else 0
    if not 1 <= value <= DB_ID_MAX:
        raise NotFound(NOT_FOUND_ID.format(what=what, raw=raw[:40]))
    return value


async def check_path_ids(request: Request) -> None:
    """Answer 404 for a path id no row can have before a form is read or its CSRF checked."""
    for name in request.path_params:
        if name.endswith("_id"):
            _path_id(request.path_params, name, name.removesuffix("_id"))


PATH_IDS_FIRST = [Depends(check_path_ids)]
"""Route ``dependencies=`` of a page form action that has no other path check."""


def require_organizer_of_path(request: Request, session: SessionDep, user: CurrentUser) -> User:
    """Authorise an organizer route from its path, before its body is read or validated.

    The competition comes from the path's ``competition_id``, ``phase_id``,
    ``submission_id`` or ``rescore_id``; a route with none of them (creating a competition or
    a test set) needs the organizer or admin role. Services check again; this dependency makes
    sure a refused caller learns nothing, not even whether their request was well formed.
    """
    from app.models import Rescore, Submission
    from app.services import competitions, moderation, testsets
    from app.services.rescore import RESCORE_NOT_FOUND

    params = request.path_params
    competition_id: int | None = None
    phase_id: int | None = None
    if "competition_id" in params:
        competition_id = _path_id(params, "competition_id", "competition")
        competitions.get_competition(session, competition_id)
    elif "phase_id" in params:
        phase_id = _path_id(params, "phase_id", "phase")
    elif "submission_id" in params:
        submission = session.get(Submission, _path_id(params, "submission_id", "submission"))
        if submission is None:
            raise NotFound(moderation.SUBMISSION_NOT_FOUND.format(id=params["submission_id"]))
        phase_id = submission.phase_id
    elif "rescore_id" in params:
        rescore = session.get(Rescore, _path_id(params, "rescore_id", "re-score"))
        if rescore is None:
            raise NotFound(RESCORE_NOT_FOUND.format(id=params["rescore_id"]))
        phase_id = rescore.phase_id
    if phase_id is not None:
        competition_id = competitions.get_phase(session, phase_id).competition_id
    if competition_id is None:
        if not user.can_create_competitions:
            uploading = request.url.path.rstrip("/").endswith("/testsets")
            raise Forbidden(
                testsets.CANNOT_UPLOAD_TESTSET if uploading else competitions.CANNOT_CREATE
            )
    else:
        competitions.require_organizer(session, competition_id, user)
    return user


ORGANIZER_ONLY = [Depends(require_organizer_of_path)]
"""Route ``dependencies=`` of every organizer route (API and pages)."""
