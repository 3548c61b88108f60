"""Links sent by e-mail: password reset, address verification, and notification choices.

A link carries a random secret; only its SHA-256 is stored. Each works once, until it expires.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app import notifications
from app.config import Settings
from app.errors import InvalidInput
from app.mailer import Mail
from app.models import EmailPurpose, EmailToken, User
from app.security import token_digest
from app.services.accounts import replace_password

LINK_INVALID = (
    "this link is not valid: it has already been used, has expired or was mistyped; "
    "ask for a new one"
)
RESET_SUBJECT = "Reset your Fairboard password"
VERIFY_SUBJECT = "Confirm your e-mail address for Fairboard"
ALREADY_VERIFIED = "your e-mail address {email!r} is already confirmed"
RESET_PATH = "/account/reset/"
VERIFY_PATH = "/account/email/verify/"


def issue_link(
    session: Session, user: User, purpose: EmailPurpose, *, lifetime: timedelta, now: datetime
) -> str:
    """A new link secret for ``user``, valid for ``lifetime``; only its hash is stored."""
    secret = secrets.token_urlsafe(32)
    session.add(
        EmailToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_digest(secret),
            email=user.email,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return secret


def check_link(
    session: Session, secret: str, purpose: EmailPurpose, *, now: datetime
) -> EmailToken:
    """The link's record, unless it is unknown, used or expired; it stays unused."""
    token = session.scalar(
        select(EmailToken).where(
            EmailToken.token_hash == token_digest(secret), EmailToken.purpose == purpose
        )
    )
    if token is None or token.used_at is not None or token.expires_at <= now:
        raise InvalidInput(LINK_INVALID, field="token")
    return token


def _redeem(session: Session, secret: str, purpose: EmailPurpose, *, now: datetime) -> EmailToken:
    """Use a link: one conditional UPDATE, so two clicks at once cannot both succeed."""
    token = check_link(session, secret, purpose, now=now)
    used = session.execute(
        update(EmailToken)
        .where(EmailToken.id == token.id, EmailToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidInput(LINK_INVALID, field="token")
    return token


def request_password_reset(
    session: Session, settings: Settings, who: str, *, now: datetime
) -> None:
    """E-mail a reset link to the account named by username or e-mail; silent when none is,
    so the form does not tell who has an account."""
    who = who.strip()
    if not who:
        return
    users = session.scalars(
        select(User).where(
            User.is_active.is_(True),
            or_(User.username == who.lower(), func.lower(User.email) == who.lower()),
        )
    )
    for user in users:
        body = (
            f"Someone (we hope you) asked to reset the password of the Fairboard account "
            f"{user.username!r}. The link below works once, for "
            f"{settings.password_reset_minutes} minutes. If it was not you, ignore this e-mail: "
            f"your password stays as it is."
        )
        _send_link(
            session,
            user,
            EmailPurpose.PASSWORD_RESET,
            timedelta(minutes=settings.password_reset_minutes),
            Mail(user.email, RESET_SUBJECT, body, link=RESET_PATH),
            now=now,
        )


def _send_link(
    session: Session,
    user: User,
    purpose: EmailPurpose,
    lifetime: timedelta,
    mail: Mail,
    *,
    now: datetime,
) -> None:
    """Queue ``mail`` with a new link's secret appended to its link path."""
    secret = issue_link(session, user, purpose, lifetime=lifetime, now=now)
    notifications.queue(session, replace(mail, link=f"{mail.link}{secret}"))


def reset_password(session: Session, secret: str, new_password: str, *, now: datetime) -> User:
    """Set a new password through a reset link; every session ends and API tokens are revoked."""
    token = _redeem(session, secret, EmailPurpose.PASSWORD_RESET, now=now)
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise InvalidInput(LINK_INVALID, field="token")
    replace_password(session, user, new_password)
    # Reaching the inbox proves the address as well as a verification link would.
    if user.email == token.email and user.email_verified_at is None:
        user.email_verified_at = now
    return user


def request_verification(
    session: Session, settings: Settings, user: User, *, now: datetime
) -> None:
    """E-mail a link that confirms the user's current address."""
    if user.email_verified_at is not None:
        raise InvalidInput(ALREADY_VERIFIED.format(email=user.email), field="email")
    body = (
        f"Open the link below to confirm that {user.email} belongs to the Fairboard account "
        f"{user.username!r}. It works once, for {settings.email_verification_hours} hours."
    )
    _send_link(
        session,
        user,
        EmailPurpose.VERIFY_EMAIL,
        timedelta(hours=settings.email_verification_hours),
        Mail(user.email, VERIFY_SUBJECT, body, link=VERIFY_PATH),
        now=now,
    )


def verify_email(session: Session, secret: str, *, now: datetime) -> User:
    """Confirm the address a verification link was sent to (if it is still the user's)."""
    token = _redeem(session, secret, EmailPurpose.VERIFY_EMAIL, now=now)
    user = session.get(User, token.user_id)
    if user is None or user.email != token.email:
        raise InvalidInput(LINK_INVALID, field="token")
    user.email_verified_at = now
    return user


@dataclass(frozen=True)
class NotificationChoices:
    """Which e-mails a user opted in to."""

    results: bool = False
    moderation: bool = False
    reveals: bool = False
    phases: bool = False


def set_notifications(user: User, choices: NotificationChoices) -> None:
    """Store the user's opt-in choices."""
    user.notify_results = choices.results
    user.notify_moderation = choices.moderation
    user.notify_reveals = choices.reveals
    user.notify_phases = choices.phases
