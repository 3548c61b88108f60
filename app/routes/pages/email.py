"""E-mail pages: password reset by link, address verification, notification choices and the
administrators' view of the embedded outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import NowDep, OptionalUser, SessionDep, SettingsDep
from app.errors import AppError
from app.mailer import read_outbox
from app.models import EmailPurpose
from app.routes.pages.forms import PostedForm, Viewer, require_csrf, see_other
from app.routes.pages.render import flash, render, show_viewer
from app.services import accounts, email_links
from app.services.email_links import NotificationChoices

router = APIRouter()

FormText = Annotated[str, Form()]
RESET_SENT = (
    "If an account has that username or e-mail address, a link to reset its password is on "
    "its way; it works once, for {minutes} minutes."
)
PASSWORD_RESET = "Your password has been reset; log in with the new one."
VERIFICATION_SENT = "A confirmation link is on its way to {email}."
EMAIL_VERIFIED = "Thank you: {email} is confirmed."
NOTIFICATIONS_SAVED = "Your e-mail choices are saved."
NO_STORE = {"Cache-Control": "no-store"}
"""Reset pages carry a secret in their address: never cached."""


@router.get("/account/reset", response_class=HTMLResponse)
def reset_request_form(request: Request, user: OptionalUser) -> HTMLResponse:
    """The form asking for a password-reset link."""
    show_viewer(request, user)
    return render(request, "pages/reset_request.html")


@router.post("/account/reset")
def request_reset(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    who: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """E-mail a reset link; the answer is the same whether or not the account exists."""
    require_csrf(request, csrf_token)
    email_links.request_password_reset(session, settings, who, now=now)
    flash(request, RESET_SENT.format(minutes=settings.password_reset_minutes))
    return see_other("/login")


@router.get("/account/reset/{secret}", response_class=HTMLResponse)
def reset_form(
    secret: str, request: Request, session: SessionDep, user: OptionalUser, now: NowDep
) -> HTMLResponse:
    """The new-password form of a reset link, or why the link no longer works."""
    show_viewer(request, user)
    try:
        email_links.check_link(session, secret, EmailPurpose.PASSWORD_RESET, now=now)
    except AppError as error:
        return render(
            request,
            "pages/link_invalid.html",
            message=error.message,
            again="/account/reset",
            headers=NO_STORE,
        )
    return render(request, "pages/reset_password.html", secret=secret, headers=NO_STORE)


@router.post("/account/reset/{secret}", response_class=HTMLResponse)
def reset_password(
    secret: str,
    request: Request,
    session: SessionDep,
    now: NowDep,
    new_password: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Set the new password; the link is used up, every session ends."""
    require_csrf(request, csrf_token)
    try:
        email_links.reset_password(session, secret, new_password, now=now)
    except AppError as error:
        session.rollback()
        return render(
            request,
            "pages/reset_password.html",
            error.status_code,
            error=error.message,
            secret=secret,
            headers=NO_STORE,
        )
    request.session.clear()
    flash(request, PASSWORD_RESET)
    return see_other("/login")


@router.get("/account/email", response_class=HTMLResponse)
def email_settings(request: Request, user: Viewer, settings: SettingsDep) -> HTMLResponse:
    """The user's address, whether it is confirmed, and the e-mails they opted in to."""
    return render(
        request,
        "pages/email.html",
        user=user,
        smtp=settings.smtp_url is not None,
        closing_hours=settings.phase_closing_notice_hours,
    )


@router.post("/account/email/verify")
def send_verification(post: PostedForm, settings: SettingsDep) -> Response:
    """E-mail a link confirming the user's address."""
    return post.run(
        lambda: email_links.request_verification(post.session, settings, post.user, now=post.now),
        back="/account/email",
        done=VERIFICATION_SENT.format(email=post.user.email),
    )


@router.get("/account/email/verify/{secret}")
def verify_email(
    secret: str, request: Request, session: SessionDep, user: OptionalUser, now: NowDep
) -> Response:
    """Confirm an address from the link sent to it (no log-in needed: the link is the proof)."""
    show_viewer(request, user)
    try:
        verified = email_links.verify_email(session, secret, now=now)
    except AppError as error:
        session.rollback()
        return render(
            request, "pages/link_invalid.html", message=error.message, again="/account/email"
        )
    flash(request, EMAIL_VERIFIED.format(email=verified.email))
    return see_other("/account/email" if user else "/login")


@router.post("/account/notifications")
def save_notifications(post: PostedForm) -> Response:
    """Store which e-mails the user wants."""
    choices = NotificationChoices(
        results=bool(post.text("results")),
        moderation=bool(post.text("moderation")),
        reveals=bool(post.text("reveals")),
        phases=bool(post.text("phases")),
    )
    return post.run(
        lambda: email_links.set_notifications(post.user, choices),
        back="/account/email",
        done=NOTIFICATIONS_SAVED,
    )


@router.get("/admin/outbox", response_class=HTMLResponse)
def outbox(request: Request, user: Viewer, settings: SettingsDep) -> HTMLResponse:
    """The newest e-mails of the embedded outbox (administrators only)."""
    accounts.require_admin(user, accounts.OUTBOX_ADMIN_ONLY)
    return render(
        request,
        "pages/outbox.html",
        mails=read_outbox(settings),
        smtp=settings.smtp_url is not None,
    )
