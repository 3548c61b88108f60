"""What every HTML form handler needs: CSRF checks, redirects and the login detour."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from app.deps import CSRF_MISSING
from app.errors import CsrfFailed
from app.security import csrf_matches


def require_csrf(request: Request, given: str | None) -> None:
    """Refuse a form whose hidden ``csrf_token`` does not match the session's."""
    if not csrf_matches(request.session.get("csrf"), given):
        raise CsrfFailed(CSRF_MISSING)


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target on this site only: a path, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def commit_and_redirect(session: Session, url: str) -> RedirectResponse:
    """Commit before answering, so the page the browser loads next already sees the change.

    The request session otherwise commits only after the response has been sent.
    """
    session.commit()
    return see_other(url)


def login_redirect(request: Request, *, back: str | None = None) -> RedirectResponse:
    """Send an anonymous visitor to the log-in form, and afterwards back here (or to ``back``,
    for a form whose action cannot be loaded with GET)."""
    here = back or request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return see_other(f"/login?next={quote(here, safe='')}")
