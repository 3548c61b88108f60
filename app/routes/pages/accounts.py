"""Sign-up, log-in, log-out, changing the password and personal API tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, Response

from app.deps import CurrentUser, DbId, NowDep, OptionalUser, SessionDep
from app.errors import AppError
from app.models import User
from app.routes.pages.forms import (
    login_redirect,
    require_csrf,
    safe_next,
    see_other,
)
from app.routes.pages.paging import Listing, ListingDep
from app.routes.pages.render import flash, render, show_viewer
from app.security import new_csrf_token
from app.services import accounts, webhooks
from app.throttle import LoginThrottleDep, SignUpThrottleDep

router = APIRouter()

FormText = Annotated[str, Form()]
WEBHOOK_TEST_QUEUED = "Test event queued: it appears in the delivery log once sent."
PASSWORD_CHANGED = (
    "Password changed. Every other session has been logged out and your API tokens revoked."
)


def _log_in(request: Request, user: User) -> None:
    """Start a fresh session for ``user``; a new CSRF token, so a token seen before is useless."""
    request.session.clear()
    request.session["user_id"] = user.id
    request.session["session_version"] = user.session_version
    request.session["csrf"] = new_csrf_token()


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request, user: OptionalUser, next: str = "/") -> HTMLResponse:
    """The sign-up form."""
    show_viewer(request, user)
    return render(request, "pages/signup.html", next=safe_next(next), username="", email="")


@router.post("/signup", response_class=HTMLResponse)
def signup(
    request: Request,
    session: SessionDep,
    throttle: SignUpThrottleDep,
    username: FormText = "",
    email: FormText = "",
    password: FormText = "",
    next: FormText = "/",
    csrf_token: FormText = "",
) -> Response:
    """Create a participant account and log it in (accounts per address are throttled)."""
    require_csrf(request, csrf_token)
    try:
        user = throttle.attempt(
            request,
            lambda: accounts.register(session, username=username, password=password, email=email),
        )
    except AppError as error:
        session.rollback()
        return render(
            request,
            "pages/signup.html",
            error.status_code,
            error=error.message,
            next=safe_next(next),
            username=username,
            email=email,
            headers=error.headers(),
        )
    _log_in(request, user)
    flash(request, f"Welcome, {user.username}! Your account is ready.")
    return see_other(safe_next(next))


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, user: OptionalUser, next: str = "/") -> HTMLResponse:
    """The log-in form."""
    show_viewer(request, user)
    return render(request, "pages/login.html", next=safe_next(next), username="")


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    throttle: LoginThrottleDep,
    username: FormText = "",
    password: FormText = "",
    next: FormText = "/",
    csrf_token: FormText = "",
) -> Response:
    """Check the credentials (failures throttled); a failure is shown on the form."""
    require_csrf(request, csrf_token)
    try:
        user = throttle.attempt(
            request,
            username,
            lambda: accounts.authenticate(session, username=username, password=password),
        )
    except AppError as error:
        return render(
            request,
            "pages/login.html",
            error.status_code,
            error=error.message,
            next=safe_next(next),
            username=username,
            headers=error.headers(),
        )
    _log_in(request, user)
    response = see_other(safe_next(next))
    throttle.remember_device(response, user.username)
    return response


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, user: OptionalUser, csrf_token: FormText = ""
) -> Response:
    """End every session of the user, this one and those on other devices."""
    require_csrf(request, csrf_token)
    if user is not None:
        accounts.end_sessions(user)
    request.session.clear()
    return see_other("/")


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request, user: CurrentUser) -> HTMLResponse:
    """The change-password form."""
    show_viewer(request, user)
    return render(request, "pages/password.html")


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    throttle: LoginThrottleDep,
    current_password: FormText = "",
    new_password: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Change the password; every other session ends, this browser gets a fresh one."""
    show_viewer(request, user)
    require_csrf(request, csrf_token)
    try:
        throttle.attempt(
            request,
            user.username,
            lambda: accounts.change_password(
                session, user, current_password=current_password, new_password=new_password
            ),
        )
    except AppError as error:
        session.rollback()
        return render(
            request,
            "pages/password.html",
            error.status_code,
            error=error.message,
            headers=error.headers(),
        )
    _log_in(request, user)
    flash(request, PASSWORD_CHANGED)
    return see_other("/account/tokens")


@router.get("/account/tokens", response_class=HTMLResponse)
def tokens_page(
    request: Request, session: SessionDep, user: OptionalUser, listing: ListingDep
) -> Response:
    """The caller's API tokens (50 a page) and webhooks."""
    if user is None:
        return login_redirect(request)
    show_viewer(request, user)
    return render(request, "pages/tokens.html", **_tokens_page(session, user, listing))


def _tokens_page(session: SessionDep, user: User, listing: Listing) -> dict[str, Any]:
    """The page's lists: a page of tokens, and the webhooks (at most
    ``webhooks.MAX_WEBHOOKS_PER_USER``) with their latest deliveries."""
    hooks = [
        (hook, webhooks.deliveries_of(session, user, hook.id, limit=5, offset=0)[0])
        for hook in webhooks.list_webhooks(session, user)
    ]
    pages, tokens = accounts.tokens_page(session, user, listing)
    return {"tokens": tokens, "pages": pages, "webhooks": hooks}


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    listing: ListingDep,
    name: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Create a token and show its secret, once.

    Answered with the page itself rather than a redirect, so the secret never travels in the
    session cookie.
    """
    if user is None:
        return login_redirect(request, back="/account/tokens")
    show_viewer(request, user)
    require_csrf(request, csrf_token)
    token, secret = accounts.create_token(session, user, name=name or "api")
    return render(
        request,
        "pages/tokens.html",
        status.HTTP_201_CREATED,
        **_tokens_page(session, user, listing),
        new_token=token,
        new_secret=secret,
        headers={"Cache-Control": "no-store"},
    )


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(
    token_id: DbId,
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    csrf_token: FormText = "",
) -> Response:
    """Revoke one of the caller's tokens."""

    def revoke(user: User) -> str:
        token = accounts.revoke_token(session, user, token_id)
        return f"Token {token.name!r} ({token.prefix}…) revoked."

    return _tokens_page_action(request, session, user, csrf_token, revoke)


def _tokens_page_action(
    request: Request,
    session: SessionDep,
    user: User | None,
    csrf_token: str,
    act: Callable[[User], str],
) -> Response:
    """A form posted from the tokens page: log-in and CSRF checked, ``act``'s notice flashed."""
    if user is None:
        return login_redirect(request, back="/account/tokens")
    show_viewer(request, user)
    require_csrf(request, csrf_token)
    flash(request, act(user))
    return see_other("/account/tokens")


@router.post("/account/webhooks/{webhook_id}/test")
def send_webhook_test(
    webhook_id: DbId,
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    now: NowDep,
    csrf_token: FormText = "",
) -> Response:
    """Queue a test event to one of the caller's webhooks."""

    def send(user: User) -> str:
        webhooks.queue_test_event(session, user, webhook_id, now=now)
        return WEBHOOK_TEST_QUEUED

    return _tokens_page_action(request, session, user, csrf_token, send)
