"""What every HTML form handler needs: the viewer, a CSRF-checked form, one way to run a form's
action (its problem flashed or shown on the form, the notice after it), redirects and the login
detour."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import Depends, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.deps import CSRF_MISSING, CurrentUser, NowDep, SessionDep
from app.errors import AppError, CsrfFailed, InvalidInput
from app.models import User
from app.routes.pages.render import flash, render, show_viewer
from app.security import csrf_matches
from app.services.submissions import Upload

NO_FILE_CHOSEN = "choose a file to upload"
CONFIRMED_FIELD = "confirmed"
"""Set to "yes" by the confirmation page (or the confirmation dialog of app/static)."""
REFUSALS = (401, 403, 404)
"""Problems shown as an error page, never as a notice on the page the form came from."""
T = TypeVar("T")


def require_csrf(request: Request, given: str | None) -> None:
    """Refuse a form whose hidden ``csrf_token`` does not match the session's."""
    if not csrf_matches(request.session.get("csrf"), given):
        raise CsrfFailed(CSRF_MISSING)


def page_viewer(request: Request, user: CurrentUser) -> User:
    """The logged-in viewer, shown in the page header (anonymous visitors go to log in)."""
    show_viewer(request, user)
    return user


Viewer = Annotated[User, Depends(page_viewer)]


async def checked_form(request: Request) -> FormData:
    """The submitted form, once its hidden ``csrf_token`` matches the session's."""
    form = await request.form()
    given = form.get("csrf_token")
    require_csrf(request, given if isinstance(given, str) else None)
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]
"""Declare it on every page route that changes something."""


def form_fields(form: FormData, *, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """A form's text fields, without its CSRF token; the fields named in ``lists`` as lists."""
    fields: dict[str, Any] = {}
    for key in form:
        values = [value for value in form.getlist(key) if isinstance(value, str)]
        if key != "csrf_token" and values:
            fields[key] = values if key in lists else values[-1]
    return fields


def chosen_file(file: UploadFile | None) -> Upload:
    """The file a form uploaded, or the problem that none was chosen."""
    if file is None or not file.filename:
        raise InvalidInput(NO_FILE_CHOSEN, field="file")
    return Upload(file.filename, file.file)


@dataclass(frozen=True)
class Confirmation:
    """What an irreversible action asks before it runs: its name and what will happen."""

    action: str
    consequences: str


@dataclass(frozen=True)
class FormPost:
    """What a page's form action needs: the request, its transaction, the viewer, the time
    and the CSRF-checked form."""

    request: Request
    session: Session
    user: User
    now: datetime
    form: FormData

    def text(self, name: str, default: str = "") -> str:
        """One text field of the form, or ``default`` when it was not sent."""
        return str(form_fields(self.form).get(name, default))

    def run(
        self,
        perform: Callable[[], T],
        *,
        back: str,
        done: Callable[[T], str] | str,
        then: Callable[[T], str] | None = None,
        refused: str = "Not done",
        on_error: Callable[[AppError], Response] | None = None,
        confirm: Confirmation | None = None,
    ) -> Response:
        """Run the form's action in the request's transaction; answer as a browser expects.

        Success: the ``done`` notice, and a redirect to ``then(result)`` (or ``back``). A
        problem rolls the transaction back and is either shown by ``on_error`` (a form
        re-rendered with what was typed) or flashed as "<refused>: <message>" on ``back``;
        refusals (not logged in, not allowed, no such thing) without ``on_error`` render as
        error pages. An irreversible action passes ``confirm``: until the form says
        ``confirmed=yes``, nothing runs and a page asks, saying what will happen.
        """
        if confirm is not None and self.text(CONFIRMED_FIELD) != "yes":
            return self.ask(confirm, back=back)
        try:
            result = perform()
        except AppError as error:
            if on_error is None and error.status_code in REFUSALS:
                raise
            self.session.rollback()
            if on_error is not None:
                return on_error(error)
            flash(self.request, f"{refused}: {error.message}")
            return see_other(back)
        flash(self.request, done(result) if callable(done) else done)
        return see_other(then(result) if then is not None else back)

    def ask(self, confirmation: Confirmation, *, back: str) -> Response:
        """The page asking to confirm this form's action, its fields kept for the re-post."""
        fields = {k: v for k, v in form_fields(self.form).items() if k != CONFIRMED_FIELD}
        return render(
            self.request,
            "confirm.html",
            confirmation=confirmation,
            action=self.request.url.path,
            fields=fields,
            back=safe_next(fields.get("back") or back, default=back),
        )


def form_post(
    request: Request, session: SessionDep, user: Viewer, now: NowDep, form: CheckedForm
) -> FormPost:
    return FormPost(request, session, user, now, form)


PostedForm = Annotated[FormPost, Depends(form_post)]
"""The one parameter of a page route that runs a form's action."""


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target on this site only: a path, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request, *, back: str | None = None) -> RedirectResponse:
    """Send an anonymous visitor to the log-in form, and afterwards back here (or to ``back``,
    for a form whose action cannot be loaded with GET)."""
    here = back or request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return see_other(f"/login?next={quote(here, safe='')}")
